"""Published names and routes: valid for every client, deterministic, and mapped back exactly."""

from __future__ import annotations

import re

from app.gateway.children.supervisor import ChildLists
from app.gateway.routing.catalog import Catalog, Route, published_name

VALID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def lists(tools=(), prompts=(), resources=(), templates=()) -> ChildLists:
    return ChildLists(
        tools=[{"name": n, "inputSchema": {"type": "object"}} for n in tools],
        prompts=[{"name": n} for n in prompts],
        resources=[{"uri": u, "name": u} for u in resources],
        templates=[{"uriTemplate": u, "name": u} for u in templates],
    )


def test_plain_names_are_prefixed_readably():
    assert published_name("github", "create_issue") == "github__create_issue"


def test_invalid_characters_and_long_names_are_sanitized_with_a_stable_hash():
    odd = published_name("my server", "get.file")
    assert VALID.match(odd) and odd.startswith("my_server__get_file_")
    assert odd == published_name("my server", "get.file")  # deterministic
    long = published_name("s" * 40, "t" * 40)
    assert VALID.match(long) and len(long) == 64
    assert published_name("s" * 40, "t" * 40 + "x") != long  # different originals never meet


def test_names_that_sanitize_alike_stay_distinct_and_route_back_exactly():
    catalog = Catalog.build({"a": lists(tools=["x.y", "x_y", "x y"])})
    names = [t["name"] for t in catalog.tools]
    assert len(set(names)) == 3 and all(VALID.match(n) for n in names)
    assert {catalog.tool_routes[n].name for n in names} == {"x.y", "x_y", "x y"}
    assert catalog.tool_routes["a__x_y"] == Route("a", "x_y")


def test_build_is_independent_of_child_order():
    one = Catalog.build({"a": lists(tools=["t"]), "b": lists(tools=["t"])})
    two = Catalog.build({"b": lists(tools=["t"]), "a": lists(tools=["t"])})
    assert one.tools == two.tools and dict(one.tool_routes) == dict(two.tool_routes)


def test_unprefixed_catalog_keeps_the_childs_names():
    catalog = Catalog.build({"conf": lists(tools=["test_simple_text"])}, prefixed=False)
    assert [t["name"] for t in catalog.tools] == ["test_simple_text"]
    assert catalog.tool_routes["test_simple_text"] == Route("conf", "test_simple_text")


def test_tool_entries_are_passed_verbatim_but_for_the_name():
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": {"a": {}},
        "additionalProperties": False,
    }
    catalog = Catalog.build({"s": ChildLists(tools=[{"name": "t", "inputSchema": schema, "annotations": {"x": 1}}])})
    assert catalog.tools == [{"name": "s__t", "inputSchema": schema, "annotations": {"x": 1}}]


def test_unique_uris_are_kept_and_conflicts_rewritten_for_both():
    catalog = Catalog.build(
        {"a": lists(resources=["file:///shared", "a://only"]), "b": lists(resources=["file:///shared"])}
    )
    uris = sorted(r["uri"] for r in catalog.resources)
    assert uris == ["a://only", "switchboard://a/file:///shared", "switchboard://b/file:///shared"]
    assert catalog.route_resource("a://only") == Route("a", "a://only")
    assert catalog.route_resource("switchboard://b/file:///shared") == Route("b", "file:///shared")
    assert catalog.route_resource("file:///shared") is None


def test_template_matches_route_reads():
    catalog = Catalog.build({"a": lists(templates=["a://items/{id}"]), "b": lists(templates=["b://docs/{name}"])})
    assert catalog.route_resource("b://docs/readme") == Route("b", "b://docs/readme")
    assert catalog.route_resource("a://items/3") == Route("a", "a://items/3")
    assert catalog.route_resource("c://nothing") is None
