"""The websocket live stream: its protocol and per-client queue (pure), and the hub that
hands bus events to this replica's clients. The route is `routes/stream.py`.
"""
