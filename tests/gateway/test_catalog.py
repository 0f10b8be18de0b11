"""Published names and routes: valid for every client, deterministic, and mapped back exactly."""

from __future__ import annotations

import re

from app.gateway.children.model import ChildLists
from app.gateway.routing.catalog import Catalog, Route
from app.gateway.routing.names import assign

VALID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def lists(tools=(), prompts=(), resources=(), templates=()) -> ChildLists:
    return ChildLists(
        tools=[{"name": n, "inputSchema": {"type": "object"}} for n in tools],
        prompts=[{"name": n} for n in prompts],
        resources=[{"uri": u, "name": u} for u in resources],
        templates=[{"uriTemplate": u, "name": u} for u in templates],
    )


def names(*pairs: tuple[str, str]) -> list[str]:
    published = assign(pairs)
    return [published[p] for p in pairs]


def test_plain_names_are_prefixed_readably():
    assert names(("github", "create_issue")) == ["github__create_issue"]


def test_names_that_only_need_characters_replaced_stay_readable():
    assert names(("My Server (prod)!", "echo")) == ["My_Server_prod__echo"]
    assert names(("my server", "get.file")) == ["my_server__get_file"]


def test_long_names_get_a_stable_hash_and_fit():
    [long] = names(("s" * 40, "t" * 40))
    assert VALID.match(long) and len(long) == 64
    assert names(("s" * 40, "t" * 40)) == [long]  # deterministic
    assert names(("s" * 40, "t" * 40 + "x")) != [long]  # different originals never meet


def test_a_collision_is_never_dropped_silently(caplog):
    """Server `a__b` with tool `c` and server `a` with tool `b__c` would both be `a__b__c`."""
    catalog = Catalog.build({"a__b": lists(tools=["c"]), "a": lists(tools=["b__c"])})
    published = sorted(t["name"] for t in catalog.tools)
    assert len(published) == 2 and all(VALID.match(n) and n.startswith("a__b__c_") for n in published)
    assert {catalog.tool_routes[n] for n in published} == {Route("a__b", "c"), Route("a", "b__c")}
    assert "would all be published as a__b__c" in caplog.text
    again = Catalog.build({"a": lists(tools=["b__c"]), "a__b": lists(tools=["c"])})
    assert sorted(t["name"] for t in again.tools) == published  # deterministic


def test_names_that_sanitize_alike_stay_distinct_and_route_back_exactly():
    catalog = Catalog.build({"a": lists(tools=["x.y", "x_y", "x y"])})
    published = [t["name"] for t in catalog.tools]
    assert len(set(published)) == 3 and all(VALID.match(n) for n in published)
    assert {catalog.tool_routes[n].name for n in published} == {"x.y", "x_y", "x y"}
    assert catalog.tool_routes["a__x_y"] == Route("a", "x_y")  # the one already valid keeps its name


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


def test_a_rewritten_uri_is_a_valid_uri_with_the_server_percent_encoded():
    catalog = Catalog.build({"my files": lists(resources=["file:///x"]), "b": lists(resources=["file:///x"])})
    uris = sorted(r["uri"] for r in catalog.resources)
    assert uris == ["switchboard://b/file:///x", "switchboard://my%20files/file:///x"]
    assert catalog.route_resource("switchboard://my%20files/file:///x") == Route("my files", "file:///x")
    assert all(" " not in u for u in uris)
