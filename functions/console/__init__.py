"""The ops console (CONTRACT §10): server-rendered pages under /console/ for the brand's staff."""
