"""Bulk issue: every certificate of an order for a month in one ZIP, from the command line
(over several processes) with a progress bar."""

from __future__ import annotations

import hashlib
import zipfile

import pytest

from certificates.models import Certificate
from core.extensions import db
from tests.attendance.support import rows
from tests.certificates.certificate_support import MONTH, held_month, pdf_text
from training.models import Order


@pytest.fixture
def month(app, client, tenant_a, monkeypatch):
    return held_month(app, client, tenant_a, monkeypatch)


def read_zip(path) -> dict[str, bytes]:  # noqa: ANN001
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def issue_month(runner, order_ref: str, workers: int, target) -> str:  # noqa: ANN001
    """Run the command; answer what it printed."""
    args = ["certificates", "issue", "--order", order_ref, "--month", MONTH]
    args += ["--workers", str(workers), "--output", str(target)]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("workers", [1, 2])
def test_the_command_issues_every_certificate_of_the_month_in_one_zip(
    app, client, runner, month, tmp_path, workers
):
    order = db.session.get(Order, month.tenant.order_id)
    target = tmp_path / "lot.zip"
    output = issue_month(runner, order.number, workers, target)
    assert "Certificats" in output  # the progress bar's label
    assert f"4 certificats dans {target} : 4 émis, 0 inchangés (déjà émis), 0 sans séance" in (
        output
    )
    files = read_zip(target)
    certificates = db.session.query(Certificate).all()
    assert len(files) == len(certificates) == 4
    for person in (month.tenant.trainee, month.bruno.trainee):
        who = f"{person.last_name.upper()}-{person.first_name}_"
        assert sum(n.startswith(f"attestation-assiduite_{MONTH}_{who}") for n in files) == 1
        assert sum(n.startswith(f"certificat-realisation_{who}") for n in files) == 1
    for certificate in certificates:
        (data,) = [data for name, data in files.items() if certificate.short_id in name]
        assert hashlib.sha256(data).hexdigest() == certificate.sha256
        assert f"Certificat n° {certificate.short_id}" in pdf_text(data)
    # each certificate is recorded once in each of its sessions' chains; the ledger verifies
    assert len([r for r in rows() if r["kind"] == "certificate"]) == 4 * 2
    verified = runner.invoke(args=["ledger", "verify"])
    assert verified.exit_code == 0, verified.output

    again = issue_month(runner, order.id, workers, target)
    assert "4 certificats" in again
    assert "0 émis, 4 inchangés" in again
    assert read_zip(target) == files


def test_an_unknown_order_or_a_bad_month_is_refused(runner, month, tmp_path):
    result = runner.invoke(args=["certificates", "issue", "--order", "nope", "--month", MONTH])
    assert result.exit_code != 0
    assert "Bon de commande introuvable" in result.output
    result = runner.invoke(args=["certificates", "issue", "--order", "nope", "--month", "03-2026"])
    assert result.exit_code != 0
    assert "AAAA-MM" in result.output
