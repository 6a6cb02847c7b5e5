"""Certificates of realisation and attendance, verification, billing and realisation exports."""
