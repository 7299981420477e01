"""The API: a thin face (Django REST framework) over the services the admin uses:
visibility (``evidence.visibility``), intake, the workflow, the custody log. It adds no
door: a token does at most what its user could do in the admin, narrowed by its scopes.
May import services and models, like the admin; nothing imports it but the URLs."""
