"""`alexnet.fetch` against a local HTTP server: a verified file appears only when the download is whole
and its checksum right; otherwise nothing is left behind and an existing file is untouched."""
import hashlib
import http.server
import threading

import pytest

import alexnet

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB of synthetic "weights"
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/missing":
            self.send_error(404)
            return
        self.send_response(200)
        if self.path == "/broken":  # promises more than it sends, then hangs up
            self.send_header("Content-Length", str(len(PAYLOAD) * 2))
            self.end_headers()
            self.wfile.write(PAYLOAD[: len(PAYLOAD) // 2])
            self.close_connection = True
            return
        self.send_header("Content-Length", str(len(PAYLOAD)))
        self.end_headers()
        self.wfile.write(PAYLOAD)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_fetch_saves_verified_file(server, tmp_path):
    dest = tmp_path / "bvlc_alexnet.npy"
    assert alexnet.fetch(f"{server}/good", dest, SHA) == dest
    assert dest.read_bytes() == PAYLOAD
    assert [p.name for p in tmp_path.iterdir()] == [dest.name]


@pytest.mark.parametrize("path, sha, message", [("/good", "0" * 64, "expected 0000"),
                                                ("/broken", SHA, "broke off"),
                                                ("/missing", SHA, "HTTP 404")])
def test_failed_fetch_leaves_nothing_and_keeps_existing_file(server, tmp_path, path, sha, message):
    dest = tmp_path / "bvlc_alexnet.npy"
    with pytest.raises(alexnet.UserError, match=message):
        alexnet.fetch(f"{server}{path}", dest, sha)
    assert list(tmp_path.iterdir()) == []
    dest.write_bytes(b"an earlier good file")
    with pytest.raises(alexnet.UserError):
        alexnet.fetch(f"{server}{path}", dest, sha)
    assert dest.read_bytes() == b"an earlier good file" and list(tmp_path.iterdir()) == [dest]


def test_fetch_without_network_says_so(tmp_path):
    with pytest.raises(alexnet.UserError, match="no internet access"):
        alexnet.fetch("http://127.0.0.1:9/bvlc_alexnet.npy", tmp_path / "w.npy", SHA, timeout=5)
    assert list(tmp_path.iterdir()) == []


def test_failed_fetch_removes_the_folders_it_made(server, tmp_path):
    with pytest.raises(alexnet.UserError, match="expected 0000"):
        alexnet.fetch(f"{server}/good", tmp_path / "new" / "weights" / "bvlc_alexnet.npy", "0" * 64)
    assert list(tmp_path.iterdir()) == []
