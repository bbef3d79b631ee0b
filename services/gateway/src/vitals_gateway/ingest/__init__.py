"""What the gateway takes from the bus: telemetry into the window store, alerts and
annotations into the alert store, through the durable consumer shared by the replicas,
and the watch on how far behind those consumers are.
"""
