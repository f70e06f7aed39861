"""The service answers health and issues demo tokens on both databases."""


async def test_health_and_token(api):
    response = await api.client.get("/api/v1/health")
    assert response.json() == {
        "status": "ok",
        "time": api.clock.now().isoformat().replace("+00:00", "Z"),
        "clock_speed": 1.0,
        "time_zone": "Asia/Shanghai",
    }
    me = await api.get("dispatcher", "/auth/me")
    assert me.status_code == 200
    assert me.json()["role"] == "dispatcher"
