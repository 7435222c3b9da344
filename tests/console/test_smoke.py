from tests.console.conftest import put_store


def test_admin_sees_every_page(client, admin_headers, admin, sandbox):
    store_id = put_store(client, admin_headers)
    for path in [
        "/console/",
        "/console/slots",
        "/console/campaigns",
        "/console/notifications",
        "/console/reminders",
        "/console/audit",
        f"/console/stores/{store_id}",
    ]:
        page = admin.get(path)
        assert page.status == 200, (path, page.text[:2000])
    created = admin.submit(
        f"/console/stores/{store_id}",
        f"/console/stores/{store_id}/qrcodes",
        {"staff_id": "zhang", "staff_name": "张三", "permanent": "on"},
    )
    assert created.status == 303, created.text
    card = admin.get(created.path())
    assert card.status == 200 and "张三" in card.text, card.text
