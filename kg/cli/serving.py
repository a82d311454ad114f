"""``kg serve``: the SPARQL endpoint, the query page and a page per resource."""

from __future__ import annotations

import argparse
import sys

from kg.cli.common import Args, article_path, command, project_of
from kg.errors import KGError

TYPE_CHECKING = False  # the web layer is imported when the server starts
if TYPE_CHECKING:
    from kg.web.settings import Settings


def _serve_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--article", metavar="FILE",
                   help="a copy of the article: pages quote each fact's unit "
                        "(default ../shared/seed/ when present)")
    p.add_argument("--port", type=_port, default=8000, help="TCP port, 1-65535 (default 8000)")
    p.add_argument(
        "--base-url",
        metavar="URL",
        help="the public URL the server is reached at, behind a proxy "
        "(default http://HOST:PORT); used in the service description and as the query base IRI",
    )
    from kg.web.settings import limits as declared

    limits = p.add_argument_group("limits (see README: Running it on the web)")
    for lim in declared():
        limits.add_argument(lim.flag, dest=lim.name, type=lim.kind, default=lim.default,
                            metavar=lim.metavar, help=lim.help)  # fmt: skip
    limits.add_argument(
        "--trusted-proxy",
        default="127.0.0.1",
        metavar="IPS",
        help="addresses whose X-Forwarded-For is believed, comma-separated (default 127.0.0.1)",
    )
    limits.add_argument(
        "--allow-outbound-risk",
        action="store_true",
        help="serve even where query workers cannot be confined (see README: the sandbox)",
    )


@command(
    "serve",
    "Serve the graph: SPARQL 1.1 endpoint, query page, a page per resource.",
    _serve_options,
)
def cmd_serve(args: Args) -> int:
    from kg.web.app import serve

    def ready(mechanism: str) -> None:
        if mechanism.startswith("none"):
            print(
                f"warning: query workers are NOT confined: {mechanism}; a query can make this "
                "server connect anywhere it can reach",
                file=sys.stderr,
            )
        print(
            f"serving the graph at http://{args.host}:{args.port}/ (SPARQL: /sparql; "
            f"workers confined by {mechanism.split(' ')[0]}); Ctrl-C stops",
            file=sys.stderr,
        )

    settings = _settings(args)
    serve(host=args.host, port=args.port, project=project_of(args), settings=settings,
          on_ready=ready)
    return 0


def _port(value: str) -> int:
    """A TCP port number, or a usage error naming the range (not an OverflowError later)."""
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port: use 1-65535")
    return port


def _settings(args: Args) -> Settings:
    """kg serve's Settings from its options, refusing values that cannot work."""
    import re

    from kg.web.settings import Settings, limits

    bad = [lim for lim in limits() if lim.check(getattr(args, lim.name))]
    if bad:
        positive = [lim.flag for lim in bad if lim.zero is None]
        if positive:
            raise KGError(f"{', '.join(positive)} must be positive")
        raise KGError(str(bad[0].check(getattr(args, bad[0].name))))
    if args.base_url and not re.match(r"^https?://[^\s/]+(/\S*)?$", args.base_url):
        raise KGError(f"--base-url {args.base_url!r} is not an http(s) URL")
    return Settings(
        **{lim.name: getattr(args, lim.name) * lim.scale for lim in limits()},
        base_url=args.base_url,
        trusted_proxies=args.trusted_proxy,
        allow_outbound_risk=args.allow_outbound_risk,
        article=str(article_path(args, project_of(args)) or "") or None,
    )



