"""A small stdlib WebSocket client (RFC 6455) for SIP over WebSocket (RFC 7118).

Just what the integration tests need: the opening handshake offering the
"sip" subprotocol (checked in the answer), masked client frames, reading
text/binary messages (fragments joined, pings answered, a close frame ends the
connection), over plain TCP (ws://) or TLS (wss://, pass an ssl.SSLContext).

    ws = ws_client.connect("ws://127.0.0.1:8080/ws")
    ws.send("REGISTER sip:... SIP/2.0\\r\\n...")
    text = ws.recv(timeout=5)      # None when nothing arrived in time
    ws.close()

SipWebSocketClient adapts a connection to the client interface harness.SipUser
uses (transport, port, send, recv -> parsed SIP message).
"""

import base64
import hashlib
import os
import socket
import struct
import time
import urllib.parse

import harness as h

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class HandshakeError(Exception):
    """The server did not switch protocols; `status` is its HTTP status (0 when none)."""

    def __init__(self, status, response_text):
        super().__init__(f"WebSocket handshake refused: HTTP {status}\n{response_text}")
        self.status = status
        self.response_text = response_text


class ConnectionClosed(ConnectionError):
    """The server closed the connection (close frame or TCP close)."""


def connect(url, ssl_context=None, subprotocol="sip", timeout=5.0, extra_headers=()):
    """Opens ws:// or wss:// `url`; raises HandshakeError when refused."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("ws", "wss"):
        raise ValueError(f"not a WebSocket URL: {url}")
    secure = parts.scheme == "wss"
    port = parts.port or (443 if secure else 80)
    sock = socket.create_connection((parts.hostname, port), timeout=timeout)
    if secure:
        if ssl_context is None:
            raise ValueError("wss:// needs an ssl_context")
        sock = ssl_context.wrap_socket(sock, server_hostname=parts.hostname)
    connection = WebSocket(sock)
    try:
        connection._handshake(parts, subprotocol, timeout, extra_headers)
    except BaseException:
        connection.sock.close()
        raise
    return connection


class WebSocket:
    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""
        self.closed = False
        self.subprotocol = None

    # -- handshake --------------------------------------------------------

    def _handshake(self, parts, subprotocol, timeout, extra_headers):
        key = base64.b64encode(os.urandom(16)).decode()
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        lines = [f"GET {path} HTTP/1.1", f"Host: {parts.netloc}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        if subprotocol:
            lines.append(f"Sec-WebSocket-Protocol: {subprotocol}")
        lines += [f"{name}: {value}" for name, value in extra_headers]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())

        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buffer:
            if not self._fill(deadline):
                raise HandshakeError(0, self.buffer.decode(errors="replace"))
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        text = head.decode(errors="replace")
        status_line, *header_lines = text.split("\r\n")
        fields = status_line.split(" ", 2)
        status = int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else 0
        if status != 101:
            raise HandshakeError(status, text)
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        expected = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        if headers.get("sec-websocket-accept") != expected:
            raise HandshakeError(status, "bad Sec-WebSocket-Accept\n" + text)
        self.subprotocol = headers.get("sec-websocket-protocol")
        if subprotocol and self.subprotocol != subprotocol:
            raise HandshakeError(status, f"subprotocol {self.subprotocol!r} not echoed\n" + text)

    # -- frames -----------------------------------------------------------

    def send(self, text):
        """One text message (str) or binary message (bytes)."""
        if isinstance(text, str):
            self._send_frame(OP_TEXT, text.encode())
        else:
            self._send_frame(OP_BINARY, bytes(text))

    def _send_frame(self, opcode, payload):
        header = bytes([0x80 | opcode])
        length = len(payload)
        if length < 126:
            header += bytes([0x80 | length])
        elif length < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack("!H", length)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", length)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def recv(self, timeout=5.0):
        """The next text message (bytes of a binary one), None on timeout.
        Raises ConnectionClosed when the server closes."""
        deadline = time.monotonic() + timeout
        message = b""
        while True:
            frame = self._read_frame(deadline)
            if frame is None:
                return None
            fin, opcode, payload = frame
            if opcode == OP_PING:
                self._send_frame(OP_PONG, payload)
                continue
            if opcode == OP_PONG:
                continue
            if opcode == OP_CLOSE:
                if not self.closed:
                    self._send_frame(OP_CLOSE, payload[:2])
                self.closed = True
                raise ConnectionClosed("server sent a close frame")
            message += payload
            if fin:
                return message.decode() if opcode in (OP_TEXT, OP_CONTINUATION) else message

    def _read_frame(self, deadline):
        if not self._need(2, deadline):
            return None
        first, second = self.buffer[0], self.buffer[1]
        length = second & 0x7F
        offset = 2
        if length == 126:
            if not self._need(4, deadline):
                return None
            length = struct.unpack("!H", self.buffer[2:4])[0]
            offset = 4
        elif length == 127:
            if not self._need(10, deadline):
                return None
            length = struct.unpack("!Q", self.buffer[2:10])[0]
            offset = 10
        if second & 0x80:
            raise ConnectionError("server frames must not be masked")
        if not self._need(offset + length, deadline):
            return None
        payload = self.buffer[offset:offset + length]
        self.buffer = self.buffer[offset + length:]
        return bool(first & 0x80), first & 0x0F, payload

    def _need(self, size, deadline):
        while len(self.buffer) < size:
            if not self._fill(deadline):
                return False
        return True

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except (socket.timeout, TimeoutError):
            return False
        if not chunk:
            self.closed = True
            raise ConnectionClosed("server closed the TCP connection")
        self.buffer += chunk
        return True

    def closed_by_peer(self, timeout):
        """True when the server closes the connection within `timeout`."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self.recv(max(0.0, deadline - time.monotonic()))
        except (ConnectionError, OSError):
            return True
        return False

    def close(self):
        """Closing handshake (best effort), then the socket."""
        try:
            if not self.closed:
                self._send_frame(OP_CLOSE, struct.pack("!H", 1000))
                self.closed = True
                deadline = time.monotonic() + 1.0
                while self._read_frame(deadline) not in (None,):
                    pass
        except (ConnectionError, OSError):
            pass
        finally:
            self.sock.close()


class SipWebSocketClient:
    """A WebSocket connection with the client interface of harness.py's UDP
    and TCP clients: one SIP message per WebSocket message."""

    def __init__(self, url, ssl_context=None, timeout=5.0):
        self.ws = connect(url, ssl_context=ssl_context, timeout=timeout)
        self.transport = "WSS" if url.startswith("wss:") else "WS"
        self.port = self.ws.sock.getsockname()[1]

    def send(self, data):
        self.ws.send(data if isinstance(data, str) else data.decode())

    def recv(self, timeout=5.0):
        text = self.ws.recv(timeout)
        if text is None:
            return None
        return h.parse_message(text.encode() if isinstance(text, str) else text)

    def close(self):
        self.ws.close()
