"""Virtual class (Socket.IO): presence, chat, whiteboard, files, WebRTC signalling."""
