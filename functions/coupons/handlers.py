"""Coupon routes: campaigns and issuing (admin), claiming and listing (customer), POS redemption."""

from __future__ import annotations

from chalice import Response

from functions.core.errors import InvalidInput
from functions.core.http import Blueprint, customer_openid, header, json_body, raw_body, require_admin
from functions.coupons import campaigns, issuing, redemption

blueprint = Blueprint(__name__)

POS_CONTENT_TYPES = ["application/json", "text/plain", "application/octet-stream"]


@blueprint.route("/admin/coupon-campaigns/{campaign_id}", methods=["PUT"])
def put_campaign(campaign_id: str) -> Response:
    request = blueprint.current_request
    require_admin(request)
    spec = campaigns.parse_campaign(campaign_id, json_body(request))
    campaign, created = campaigns.save_campaign(spec)
    return Response(body=campaign.to_view(), status_code=201 if created else 200)


@blueprint.route("/admin/coupon-campaigns/{campaign_id}", methods=["GET"])
def get_campaign(campaign_id: str) -> Response:
    require_admin(blueprint.current_request)
    return Response(body=campaigns.campaign_with_counts(campaign_id).to_view())


@blueprint.route("/admin/coupon-campaigns/{campaign_id}/issue", methods=["POST"])
def issue(campaign_id: str) -> Response:
    request = blueprint.current_request
    require_admin(request)
    openids, request_id = issuing.parse_openids(json_body(request))
    return Response(body=issuing.issue_to(campaign_id, openids, request_id))


@blueprint.route("/coupons/claim", methods=["POST"])
def claim() -> Response:
    request = blueprint.current_request
    openid = customer_openid(request)
    campaign_id = json_body(request).get("campaign_id")
    if not isinstance(campaign_id, str) or not campaign_id:
        raise InvalidInput("campaign_id is required", code="invalid_request")
    coupon = issuing.claim(openid, campaign_id)
    return Response(body=coupon.to_view(), status_code=201)


@blueprint.route("/coupons", methods=["GET"])
def my_coupons() -> Response:
    openid = customer_openid(blueprint.current_request)
    return Response(body=[c.to_view() for c in issuing.coupons_of(openid)])


@blueprint.route("/pos/redemptions", methods=["POST"], content_types=POS_CONTENT_TYPES)
def redeem() -> Response:
    request = blueprint.current_request
    body = raw_body(request)
    store_id = redemption.verify_pos_request(
        header(request, "X-Store-Id"), header(request, "X-Timestamp"), header(request, "X-Signature"), body
    )
    code, order_id, amount = redemption.parse_redemption(json_body(request))
    return Response(body=redemption.redeem(store_id, code, order_id, amount).to_view())
