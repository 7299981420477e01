"""Project wiring: settings, URLs, the WSGI entry point and the environment
helpers the settings read. May import anything; nothing of the case imports it
(read settings through ``django.conf.settings``)."""
