"""Rehearsal: scenarios, the employee's state, the debrief and session export.

The engine (per turn: analyze -> update_state -> store -> persona reply; at the end: debrief)
builds on these modules: ``models`` (types), ``scenarios`` (loading), ``state`` (rule table and
``update_state``), ``debrief`` and ``export``.
"""
