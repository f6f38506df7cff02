"""How a structured-output request is encoded for each wire format and manifest."""

from __future__ import annotations

import json
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from ai_lib_python import ChatRequest, ConfigurationError, Message, ToolDefinition
from ai_lib_python.client import default_loader
from ai_lib_python.structured import output_spec
from ai_lib_python.wire import encode_request
from ai_lib_python.wire._structured import gemini_schema, inline_refs, strict_schema


class Address(BaseModel):
    city: str
    zip: str | None = None


class Person(BaseModel):
    """A person."""

    name: str
    title: str = Field(description="a property named like a schema keyword")
    age: int = 0
    kind: Literal["human"] = "human"
    home: Address
    past: list[Address] = []


class Tree(BaseModel):
    label: str
    children: list[Tree] = []


class Bag(BaseModel):
    counts: dict[str, int]


def _request(**kw: Any) -> ChatRequest:
    spec = output_spec(Person)
    return ChatRequest("m", (Message.system("sys"), Message.user("hi")),
                       response_format=spec.response_format, **kw)


async def _body(provider: str, request: ChatRequest) -> dict[str, Any]:
    manifest = await default_loader().load_provider(provider)
    return encode_request(manifest, request).body


def _objects(schema: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(schema, dict):
        if schema.get("type") == "object":
            found.append(schema)
        for value in schema.values():
            found.extend(_objects(value))
    elif isinstance(schema, list):
        for value in schema:
            found.extend(_objects(value))
    return found


def test_output_spec_wraps_non_objects_and_is_cached() -> None:
    spec = output_spec(Person)
    assert spec.name == "Person" and not spec.wrapped and spec.description == "A person."
    assert output_spec(Person) is spec
    items = output_spec(list[Address], name="addresses!")
    assert items.wrapped and items.name == "addresses"
    assert items.schema["type"] == "object" and items.schema["required"] == ["value"]
    assert items.validate_json('{"value": [{"city": "Oslo"}]}') == [Address(city="Oslo")]


async def test_openai_strict_schema() -> None:
    body = await _body("openai", _request())
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    schema = fmt["json_schema"]["schema"]
    for obj in _objects(schema):
        assert obj["additionalProperties"] is False
        assert obj["required"] == list(obj["properties"])
    assert "default" not in json.dumps(schema)
    assert "title" in schema["properties"]  # a property, not the keyword


async def test_openai_free_form_objects_are_not_strict() -> None:
    request = ChatRequest("m", (Message.user("hi"),),
                          response_format=output_spec(Bag).response_format)
    fmt = (await _body("openai", request))["response_format"]["json_schema"]
    assert fmt["strict"] is False
    assert fmt["schema"]["properties"]["counts"]["additionalProperties"] == {"type": "integer"}
    assert strict_schema({"type": "object"}) is None


async def test_gemini_response_schema_subset() -> None:
    body = await _body("gemini", _request())
    gen = body["generationConfig"]
    assert gen["responseMimeType"] == "application/json"
    schema = gen["responseSchema"]
    dumped = json.dumps(schema)
    for keyword in ("$ref", "$defs", "anyOf", "default", "additionalProperties", "const"):
        assert f'"{keyword}"' not in dumped, keyword
    assert schema["propertyOrdering"] == ["name", "title", "age", "kind", "home", "past"]
    assert schema["properties"]["title"]["type"] == "string"  # kept, though named "title"
    assert schema["required"] == ["name", "title", "home"]
    assert schema["properties"]["kind"] == {"type": "string", "enum": ["human"]}
    home = schema["properties"]["home"]
    assert home["properties"]["zip"] == {"type": "string", "nullable": True}
    assert schema["properties"]["past"]["items"]["required"] == ["city"]


async def test_gemini_without_a_fitting_schema_falls_back_to_json_mode() -> None:
    assert gemini_schema(Tree.model_json_schema()) is None  # recursive
    assert gemini_schema(Bag.model_json_schema()) is None  # free-form object
    request = ChatRequest("m", (Message.user("hi"),),
                          response_format=output_spec(Tree).response_format)
    body = await _body("gemini", request)
    assert body["generationConfig"] == {"responseMimeType": "application/json"}
    assert "JSON Schema" in body["systemInstruction"]["parts"][0]["text"]


async def test_anthropic_forced_tool() -> None:
    body = await _body("anthropic", _request())
    assert body["tool_choice"] == {"type": "tool", "name": "Person"}
    tool = body["tools"][-1]
    assert tool["name"] == "Person" and tool["description"] == "A person."
    assert "$ref" not in json.dumps(tool["input_schema"])  # references inlined
    assert "response_format" not in body


async def test_anthropic_forced_tool_with_thinking_and_other_tools() -> None:
    other = ToolDefinition("lookup", "Look up", {"type": "object", "properties": {}})
    body = await _body("anthropic", _request(tools=(other,), thinking_budget=2048))
    assert [t["name"] for t in body["tools"]] == ["lookup", "Person"]
    assert body["tool_choice"] == {"type": "auto"}  # extended thinking forbids forcing
    assert "calling the Person tool" in body["system"]
    clash = ToolDefinition("Person", "", {"type": "object", "properties": {}})
    with pytest.raises(ConfigurationError, match="name of a tool"):
        await _body("anthropic", _request(tools=(clash,)))


async def test_anthropic_json_mode_is_an_instruction() -> None:
    request = ChatRequest("m", (Message.user("hi"),), response_format={"type": "json_object"})
    body = await _body("anthropic", request)
    assert "single JSON object" in body["system"]


@pytest.mark.parametrize("provider", ["deepseek", "openai-compatible"])
async def test_json_mode_where_the_manifest_declares_no_structured_output(
        provider: str) -> None:
    manifest = await default_loader().load_provider(provider)
    assert "structured_output" not in manifest.capabilities
    body = await _body(provider, _request())
    assert body["response_format"] == {"type": "json_object"}
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["system", "system", "user"]  # the instruction after the system prompt
    instruction = body["messages"][1]["content"]
    assert "JSON" in instruction and '"home"' in instruction


async def test_cohere_json_schema() -> None:
    body = await _body("cohere", _request())
    fmt = body["response_format"]
    assert fmt["type"] == "json_object" and "$ref" not in json.dumps(fmt["json_schema"])


def test_inline_refs_detects_recursion() -> None:
    schema = Person.model_json_schema()
    inlined = inline_refs(schema)
    assert "$defs" not in inlined and inlined["properties"]["home"]["properties"]["city"]
    with pytest.raises(Exception, match="recursive"):
        inline_refs(Tree.model_json_schema())
