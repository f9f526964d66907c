def test_healthz(client):
    assert client.get("/healthz").content == b"ok"
