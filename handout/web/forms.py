"""Forms sent back to be shown again (POST/redirect/GET): what was typed, kept in memory for the browser it was typed in, never in a URL."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from handout.service import FormProblems
from handout.web.security import SIGN_IN_PATH, Sessions
from handout.web.store import ExpiringStore

FORM_GONE = "This form is no longer here: forms sent back for a correction are kept for 30 minutes. Start again from the menu."
FORM_EXPIRED = (
    "This form had expired (the page was open a long time, or handout was restarted), so nothing was done. "
    "What you typed is below: check it and send it again."
)
SIGNED_OUT = "Your sign-in had ended, so nothing was done. What you typed is below: check it and send it again."
MAX_SIGN_IN_HANDOVERS = 1024
# Drafts are held for no one session: a draft checks its own (Draft.sid), which may move to a new session id at sign-in.
ANY_SESSION = ""
MAX_KEPT_BEFORE_SIGN_IN = 200  # forms held in all when one more would be kept for someone not signed in (each at most 64 KB)


@dataclass(frozen=True)
class Draft:
    """A form sent back (a mistake to correct, or a session that ended): what was typed, shown again by GET /forms/{token}.

    Posts always answer with a redirect, so Back, Forward and Reload never send a form again.
    """

    kind: str  # which form: "plan", "leaflet", "email", "list", "list-run"
    sid: str  # the session it was typed in: another browser cannot open it
    values: Mapping[str, str]
    problems: FormProblems | None = None
    error: str | None = None
    notice: str | None = None
    token: str = ""  # the plan or list the form belongs to


DraftPage = Callable[[Request, Draft, int], Response]
# Which form a POST to a path is, the fields kept when it arrives after the sign-in ended, and the plan it belongs to ("" if none).
KeptFields = Callable[[str], tuple[str, tuple[str, ...], str]]


class FormKeeper:
    """Forms sent back, each under a random token for the session it was typed in, and how each kind of form is shown again."""

    def __init__(self, sessions: Sessions, clock: Callable[[], float], kept_fields: KeptFields, gone: Callable[[Request, str], Response]) -> None:
        self.sessions = sessions
        self.drafts: ExpiringStore[Draft] = ExpiringStore(clock=clock)
        self.pages: dict[str, DraftPage] = {}  # each kind of form's page, added by the pages that own it
        self.kept_fields = kept_fields
        self.gone = gone
        # New session id → the one before sign-in, so a form kept when the sign-in ended opens after signing in again.
        self._signed_in_from: dict[str, str] = {}

    def send_back(
        self,
        request: Request,
        kind: str,
        values: Mapping[str, str],
        problems: FormProblems | None = None,
        error: str | None = None,
        notice: str | None = None,
        token: str = "",
    ) -> Response:
        """The form again, by a redirect to a page that shows it: what was typed stays, in memory, never in the URL."""
        sid = self.sessions.session_id(request)
        draft = Draft(kind, sid, dict(values), problems, error, notice, token)
        response = RedirectResponse(f"/forms/{self.drafts.put(draft, owner=ANY_SESSION)}", status_code=303)
        self.sessions.keep(response, sid, request)  # a session that had ended gets its new id here, so the form opens
        return response

    async def show(self, request: Request) -> Response:
        """A form sent back: shown with its problems (status 422) or its notice, as often as the page is reloaded."""
        draft = self.drafts.get(request.path_params["token"], owner=ANY_SESSION)
        sid = self.sessions.session_id(request)
        if draft is None or draft.sid not in (sid, self._signed_in_from.get(sid)) or draft.kind not in self.pages:
            return self.gone(request, FORM_GONE)
        return self.pages[draft.kind](request, draft, 422 if draft.problems or draft.error else 200)

    def kind(self, request: Request) -> str:
        """Which form a /forms/{token} page shows ("" for any other page), for the menu to mark its section."""
        draft = self.drafts.get(request.path_params.get("token", ""), owner=ANY_SESSION) if request.url.path.startswith("/forms/") else None
        return draft.kind if draft is not None else ""

    async def keep_unsigned(self, request: Request) -> Response | None:
        """A form posted after the sign-in ended: kept as typed, with the way to sign in and come back to it (Guard asks)."""
        kind, fields, token = self.kept_fields(request.url.path)
        if not kind or self.drafts.count() >= MAX_KEPT_BEFORE_SIGN_IN:
            return None  # anyone can post before signing in: what is kept for them is bounded
        form = await request.form()
        typed = {key: value for key, value in form.items() if isinstance(value, str)}
        sid = self.sessions.session_id(request)
        draft = Draft(kind, sid, {name: typed.get(name, "") for name in fields}, notice=SIGNED_OUT, token=token or typed.get("changes", ""))
        response = RedirectResponse(f"{SIGN_IN_PATH}?next=/forms/{self.drafts.put(draft, owner=ANY_SESSION)}", status_code=303)
        self.sessions.keep(response, sid, request)
        return response

    def signed_in(self, new_sid: str, old_sid: str) -> None:
        """A browser signed in again: the forms it kept under its old session id open under the new one."""
        if len(self._signed_in_from) >= MAX_SIGN_IN_HANDOVERS:
            self._signed_in_from.clear()  # only minutes matter: a form kept at the sign-in page waits 30 at most
        self._signed_in_from[new_sid] = old_sid
