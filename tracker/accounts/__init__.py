"""Accounts and request security: the second factor (``otp``), idle sessions,
login lockouts and the 400 page (``security``), hostile input refused before any
view (``hostile_input``), error reports without a witness's identity (``errors``).
May import the case's models and rules; the case never imports it."""
