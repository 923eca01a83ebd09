from kehu.reports import services
def test_pages(data):
    t = data.tenant
    c = t.web_client("owner")
    r = c.get("/reports/customer-value/", follow=True)
    assert r.status_code == 200, r.content[:500]
    html = r.content.decode()
    import re
    tiles = re.findall(r'hx-get="(/reports/dashboards/\d+/tiles/\d+/\?[^"]*)"', html)
    assert len(tiles) == 6
    for u in tiles:
        x = c.get(u.replace("&amp;", "&"))
        assert x.status_code == 200, x.content[:2000]
        print(x.content.decode()[:600])
    r = c.get("/reports/new/")
    assert r.status_code == 200
    r = c.post("/reports/new/", {"name": "By grade", "object_type": "customers.account", "group_1": "grade", "group_2": "created_at", "bucket_2": "month", "agg_fn_1": "count", "chart": "line", "save": "1", "date_field": "created_at", "sharing": "private"})
    assert r.status_code == 302, r.content.decode()[-3000:]
    r = c.get(r["Location"])
    assert r.status_code == 200
    print(r.content.decode()[r.content.decode().find("report-chart")-200:][:3000])
    r = c.post("/reports/preview/", {"object_type": "commerce.order", "group_1": "status", "agg_fn_1": "sum", "agg_field_1": "total_amount", "chart": "pie"})
    assert r.status_code == 200
    r = c.get("/reports/")
    assert r.status_code == 200
