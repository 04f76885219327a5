"""Prints the authentication request code the gateway sends first, over TLS or not.

Usage: auth_request.py PORT tls|plain. 3 is AuthenticationCleartextPassword, 10 is SASL.
"""
import socket
import ssl
import struct
import sys

port, mode = int(sys.argv[1]), sys.argv[2]
sock = socket.create_connection(("127.0.0.1", port), timeout=10)
if mode == "tls":
    sock.sendall(struct.pack(">ii", 8, 80877103))
    if sock.recv(1) != b"S":
        sys.exit("server refused TLS")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    sock = context.wrap_socket(sock)
body = struct.pack(">i", 196608) + b"user\0analyst\0\0"
sock.sendall(struct.pack(">i", len(body) + 4) + body)
header = b""
while len(header) < 9:
    chunk = sock.recv(9 - len(header))
    if not chunk:
        sys.exit("connection closed")
    header += chunk
kind, _, code = struct.unpack(">cii", header)
print(f"{kind.decode()} {code}")
