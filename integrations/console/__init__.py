"""Staff console: the queue of handoff tickets, case pages with the prefilled intake summary, live replies.

``python -m integrations.console serve`` runs it; ``create_app`` builds it (see ``app.py``).
"""
