"""Drives a running onegrid server with georeport, a third-party Open311 GeoReport v2 client from
PyPI. georeport reads (services, definitions, requests) in JSON and XML; it has no call that creates
requests, so the POST is sent with `requests` (georeport's own HTTP library) as the spec's form.

Environment: ONEGRID_URL (server root), ONEGRID_API_KEY (from `onegrid apikey create`).
"""

import os
import sys

import requests
from georeport import GeoReport

ROOT = os.environ["ONEGRID_URL"].rstrip("/") + "/open311/v2"
KEY = os.environ["ONEGRID_API_KEY"]
PHONE = "13987654321"
EMAIL = "tester@example.com"
SURNAME = "龘靐"  # a name no demo case contains


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def as_list(value):
    """xmltodict gives one element as a dict and several as a list."""
    return value if isinstance(value, list) else [value]


def main():
    json_client = GeoReport(ROOT, jurisdiction="dongli")
    xml_client = GeoReport(ROOT, output_format="xml")

    services = json_client.get_service_list()
    check(len(services) > 100, f"expected the district's categories, got {len(services)}")
    litter = next(s for s in services if s["service_code"] == "S0101")
    check(litter["service_name"] == "暴露垃圾" and litter["metadata"] is True, litter)
    xml_services = as_list(xml_client.get_service_list())
    check(len(xml_services) == len(services), "XML and JSON list different services")
    check(any(s["service_code"] == "S0101" and s["metadata"] == "true" for s in xml_services),
          "S0101 missing from XML")

    definition = json_client.get_service_definition("S0101")
    check(definition["attributes"][0]["code"] == "severity", definition)
    xml_definition = xml_client.get_service_definition("B0101")
    codes = [a["code"] for a in as_list(xml_definition["attributes"]["attribute"])]
    check(codes == ["component_state", "severity"], codes)

    # A point inside the district: any demo case that has one.
    existing = json_client.get_service_requests()
    located = next((r for r in existing if r.get("lat") is not None), None)
    check(located is not None, "no demo case in the last 90 days has a location")
    lat, lon = located["lat"], located["long"]

    form = {
        "api_key": KEY,
        "service_code": "S0101",
        "lat": lat,
        "long": lon,
        "description": "小区门口堆了很多生活垃圾。请尽快清理",
        "first_name": "秀英",
        "last_name": SURNAME,
        "phone": PHONE,
        "email": EMAIL,
        "attribute[severity]": "serious",
    }
    posted = requests.post(f"{ROOT}/requests.json", data=form, timeout=10)
    check(posted.status_code == 200, f"POST: {posted.status_code} {posted.text}")
    request_id = posted.json()[0]["service_request_id"]
    token = posted.json()[0]["token"]

    mine = json_client.get_service_request(request_id)
    check(mine["service_request_id"] == request_id and mine["status"] == "open", mine)
    check(mine["service_code"] == "S0101", mine)
    check(mine["requested_datetime"].endswith("+08:00"), mine["requested_datetime"])
    mine_xml = xml_client.get_service_request(request_id)
    check(mine_xml["service_request_id"] == request_id, mine_xml)
    check(mine_xml["agency_responsible"] == mine["agency_responsible"], mine_xml)

    listed = json_client.get_service_requests(service_request_id=request_id)
    check([r["service_request_id"] for r in listed] == [request_id], listed)
    listed_xml = as_list(xml_client.get_service_requests(service_code="S0101", status="open"))
    check(request_id in [r["service_request_id"] for r in listed_xml], "new request not listed (XML)")

    by_token = requests.get(f"{ROOT}/tokens/{token}.json", timeout=10).json()
    check(by_token[0]["service_request_id"] == request_id, by_token)

    # Nothing personal comes back, in either format.
    for text in (
        requests.get(f"{ROOT}/requests/{request_id}.json", timeout=10).text,
        requests.get(f"{ROOT}/requests/{request_id}.xml", timeout=10).text,
        requests.get(f"{ROOT}/requests.xml", timeout=10).text,
    ):
        for secret in (PHONE, EMAIL, SURNAME):
            check(secret not in text, f"{secret} leaked")

    # Errors in the spec's format: a wrong key, a point outside the district.
    refused = requests.post(f"{ROOT}/requests.json", data={**form, "api_key": "wrong"}, timeout=10)
    check(refused.status_code == 403 and refused.json()[0]["code"] == 403, refused.text)
    outside = requests.post(f"{ROOT}/requests.xml", data={**form, "lat": 31.23, "long": 121.47},
                            timeout=10)
    check(outside.status_code == 400 and "<errors><error><code>400</code>" in outside.text
          and "outside the district" in outside.text, outside.text)
    try:
        json_client.get_service_definition("NOPE")
        check(False, "an unknown service was found")
    except requests.HTTPError as error:
        check(error.response.status_code == 404, error)

    print(f"open311 client test passed: {len(services)} services, request {request_id}")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
