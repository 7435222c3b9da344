"""The customer pages inside WeChat (CONTRACT §9): bookings, coupons, shipments, me."""
