"""Coupon routes: campaigns and issuing (admin), claiming and listing (customer), POS redemption."""

from __future__ import annotations

import msgspec
from chalice import Response
from chalice.app import Request

from functions.core.fields import CampaignId, StoreId
from functions.core.http import Blueprint, header, raw_body
from functions.coupons import campaigns, issuing, redemption
from functions.coupons.requests import CampaignRequest, ClaimRequest, IssueRequest, RedemptionRequest

blueprint = Blueprint(__name__)

POS_CONTENT_TYPES = ["application/json", "text/plain", "application/octet-stream"]
# The terminal's other signed headers (X-Signature is the security scheme).
POS_HEADERS = {
    "parameters": [
        {"name": "X-Store-Id", "in": "header", "required": True, "schema": msgspec.json.schema(StoreId)},
        {
            "name": "X-Timestamp",
            "in": "header",
            "required": True,
            "schema": {
                "type": "string",
                "pattern": "^[0-9]{1,12}$",
                "description": "unix seconds, within 300 s",
            },
        },
    ]
}
CAMPAIGN = {"campaign_id": CampaignId}


@blueprint.route(
    "/admin/coupon-campaigns/{campaign_id}",
    methods=["PUT"],
    auth="admin",
    body=CampaignRequest,
    path_types=CAMPAIGN,
)
def put_campaign(campaign_id: str, body: CampaignRequest) -> Response:
    """Create or update a coupon campaign."""
    campaign, created = campaigns.put_campaign(campaign_id, body)
    return Response(body=campaign.to_view(), status_code=201 if created else 200)


@blueprint.route("/admin/coupon-campaigns/{campaign_id}", methods=["GET"], auth="admin", path_types=CAMPAIGN)
def get_campaign(campaign_id: str) -> Response:
    """A campaign with the number of coupons issued."""
    return Response(body=campaigns.campaign_with_counts(campaign_id).to_view())


@blueprint.route(
    "/admin/coupon-campaigns/{campaign_id}/issue",
    methods=["POST"],
    auth="admin",
    body=IssueRequest,
    path_types=CAMPAIGN,
)
def issue(campaign_id: str, body: IssueRequest) -> Response:
    """Issue a coupon to each customer listed, within the campaign's limits."""
    return Response(body=issuing.issue_to(campaign_id, body.openids, body.request_id))


@blueprint.route("/coupons/claim", methods=["POST"], auth="customer", body=ClaimRequest)
def claim(openid: str, body: ClaimRequest) -> Response:
    """Claim a coupon of a claimable campaign."""
    return Response(body=issuing.claim(openid, body.campaign_id).to_view(), status_code=201)


@blueprint.route("/coupons", methods=["GET"], auth="customer")
def my_coupons(openid: str) -> Response:
    """My coupons, newest first."""
    return Response(body=[c.to_view() for c in issuing.coupons_of(openid)])


def pos_store(request: Request) -> str:
    """The store whose terminal signed the request. The signature covers the raw body, so it is
    checked before the body is even read."""
    return redemption.verify_pos_request(
        header(request, "X-Store-Id"),
        header(request, "X-Timestamp"),
        header(request, "X-Signature"),
        raw_body(request),
    )


@blueprint.route(
    "/pos/redemptions",
    methods=["POST"],
    content_types=POS_CONTENT_TYPES,
    auth=pos_store,
    body=RedemptionRequest,
    document=POS_HEADERS,
)
def redeem(caller: str, body: RedemptionRequest) -> Response:
    """Redeem a coupon at a store's POS (HMAC-signed by the store's terminal)."""
    return Response(body=redemption.redeem(caller, body.code, body.order_id, body.amount_cents).to_view())
