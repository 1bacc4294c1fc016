"""The schema-registry function over the gateway: versions, compatibility, clear refusals."""
import uuid


def test_versions_evolve_and_a_breaking_change_is_refused_naming_the_field(gateway):
    s, url = gateway
    base = f"{url}/function/schema-registry"
    subject = f"orders-{uuid.uuid4().hex[:6]}"
    v1 = {"type": "object", "required": ["id"],
          "properties": {"id": {"type": "string"}, "amount": {"type": "number"}}}
    assert s.post(f"{base}/subjects/{subject}/versions", json={"schema": v1}).json() == {"version": 1}
    v2 = {**v1, "properties": {**v1["properties"], "note": {"type": "string"}}}
    assert s.post(f"{base}/subjects/{subject}/versions", json={"schema": v2}).json() == {"version": 2}
    assert s.get(f"{base}/subjects/{subject}/versions").json() == [1, 2]
    latest = s.get(f"{base}/subjects/{subject}/versions/latest").json()
    assert latest["version"] == 2 and "note" in latest["schema"]["properties"]
    changed_type = {**v1, "properties": {"id": {"type": "string"}, "amount": {"type": "string"}}}
    check = s.post(f"{base}/compatibility/subjects/{subject}/versions/latest",
                   json={"schema": changed_type}).json()
    assert check["is_compatible"] is False and any("amount" in m for m in check["messages"])
    refused = s.post(f"{base}/subjects/{subject}/versions", json={"schema": changed_type})
    assert refused.status_code == 409
    assert "amount" in refused.json()["error"]
    assert s.get(f"{base}/subjects/{subject}/versions").json() == [1, 2]
    assert subject in s.get(f"{base}/subjects").json()


def test_unknown_subject_and_bad_bodies(gateway):
    s, url = gateway
    base = f"{url}/function/schema-registry"
    assert s.get(f"{base}/subjects/nothing-here/versions/latest").status_code == 404
    resp = s.post(f"{base}/subjects/x/versions", json={"no": "schema"})
    assert resp.status_code == 400 and resp.json()["error"].startswith("schema:")
    assert s.get(f"{base}/no/such/route").status_code == 404
