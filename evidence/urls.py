"""Protected file URLs: /evidence/<code>/original, /thumbnail, /preview, /keyframe/<n>,
/playable,
/anchor-proof."""

from django.urls import path

from evidence import views
from evidence.models import Derivative

app_name = "evidence"

urlpatterns = [
    path("<str:code>/original", views.original, name="original"),
    path("<str:code>/anchor-proof", views.anchor_proof, name="anchor_proof"),
    path(
        "<str:code>/thumbnail",
        views.derivative,
        {"kind": Derivative.Kind.THUMBNAIL.value},
        name="thumbnail",
    ),
    path(
        "<str:code>/preview",
        views.derivative,
        {"kind": Derivative.Kind.PREVIEW.value},
        name="preview",
    ),
    path(
        "<str:code>/keyframe/<int:position>",
        views.derivative,
        {"kind": Derivative.Kind.KEYFRAME.value},
        name="keyframe",
    ),
    path(
        "<str:code>/playable",
        views.derivative,
        {"kind": Derivative.Kind.PLAYABLE.value},
        name="playable",
    ),
]
