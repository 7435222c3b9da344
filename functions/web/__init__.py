"""What every customer page needs, once: sign-in and the session cookie, CSRF (session.py),
templates, the stylesheet and pages for errors (pages.py), QR codes drawn on the server (qr.py)."""
