"""OS glue, no Qt: launch at login (autostart/), AI client config writers (clients/)."""
