"""Inputs of the chat-template parity fixtures (used by gen_template_cases.py)."""

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. Paris"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Unit"},
                "days": {"type": "integer", "nullable": True},
            },
            "required": ["city"],
        },
    },
}

COMPLEX_TOOL = {
    "type": "function",
    "function": {
        "name": "book_trip",
        "description": "Book a trip with \"quotes\" and ünïcödé",
        "parameters": {
            "type": "object",
            "properties": {
                "Traveler": {
                    "type": "object",
                    "description": "Who travels",
                    "properties": {
                        "name": {"type": "string"},
                        "age": {"type": "number", "description": "Age in years"},
                        "tags": {"type": "array", "items": {"type": "string"}},
                    },
                    "required": ["name"],
                },
                "legs": {
                    "type": "array",
                    "description": "Trip legs",
                    "items": {
                        "type": "object",
                        "properties": {"from": {"type": "string"}, "to": {"type": "string"}},
                        "required": ["from", "to"],
                    },
                },
                "flexible": {"type": "boolean"},
                "class": {"type": "string", "enum": ["economy", "business"]},
                "mixed": {"type": "array", "items": {"type": ["string", "number"]}},
            },
            "required": ["Traveler", "legs"],
        },
        "response": {"type": "object", "description": "Booking confirmation"},
    },
}

NO_PARAMS_TOOL = {"type": "function", "function": {"name": "now", "description": "Current time"}}

TOOL_CALL_TURNS = [
    {"role": "user", "content": "Weather in Paris and Tokyo?"},
    {
        "role": "assistant",
        "tool_calls": [
            {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}},
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "arguments": {
                        "city": "Tokyo",
                        "unit": "celsius",
                        "opts": {"precise": True, "ratio": 0.5, "none": None, "list": [1, "two", False]},
                    },
                },
            },
        ],
    },
    {
        "role": "tool",
        "tool_responses": [
            {"name": "get_weather", "response": {"temp": 21.5, "sky": "sunny", "ok": True}},
            {"name": "get_weather", "response": "rain"},
        ],
    },
]

CHAT_CASES = [
    # ---- Gemma 4 ----
    {"name": "g4_single_user", "template": "gemma4", "messages": [{"role": "user", "content": "Hello!"}]},
    {"name": "g4_no_generation_prompt", "template": "gemma4", "add_generation_prompt": False,
     "messages": [{"role": "user", "content": "Hello!"}, {"role": "assistant", "content": "Hi, how can I help?"}]},
    {"name": "g4_system_multi_turn", "template": "gemma4", "messages": [
        {"role": "system", "content": "  You are a terse assistant.\n"},
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "  And 3+3?  "}]},
    {"name": "g4_developer_role", "template": "gemma4", "messages": [
        {"role": "developer", "content": "Answer in French."}, {"role": "user", "content": "Good morning"}]},
    {"name": "g4_thinking_on", "template": "gemma4", "enable_thinking": True, "messages": [
        {"role": "user", "content": "Prove that sqrt(2) is irrational."}]},
    {"name": "g4_thinking_on_with_system", "template": "gemma4", "enable_thinking": True, "messages": [
        {"role": "system", "content": "Be rigorous."}, {"role": "user", "content": "Why?"}]},
    {"name": "g4_thinking_off_explicit", "template": "gemma4", "enable_thinking": False, "messages": [
        {"role": "user", "content": "Quick answer please."}]},
    {"name": "g4_thought_channels_stripped", "template": "gemma4", "enable_thinking": True, "messages": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "<|channel>thought\nThe user greets me.<channel|>Hello! How can I help?"},
        {"role": "user", "content": "Tell me a joke"},
        {"role": "assistant", "content": [{"type": "text", "text": "<|channel>thought\nPick one.<channel|>  Why did "
                                                                     "the chicken cross the road?<|channel>x<channel|> "}]},
        {"role": "user", "content": "Why?"}]},
    {"name": "g4_reasoning_content_field", "template": "gemma4", "messages": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello.", "reasoning_content": "greeting"},
        {"role": "user", "content": "Bye"}]},
    {"name": "g4_tool_declarations", "template": "gemma4", "tools": [WEATHER_TOOL, COMPLEX_TOOL, NO_PARAMS_TOOL],
     "messages": [{"role": "user", "content": "Plan my trip"}]},
    {"name": "g4_tools_with_system_and_thinking", "template": "gemma4", "enable_thinking": True,
     "tools": [WEATHER_TOOL], "messages": [
        {"role": "system", "content": "Use tools when needed."}, {"role": "user", "content": "Weather?"}]},
    {"name": "g4_tool_calls_and_responses", "template": "gemma4", "tools": [WEATHER_TOOL], "messages": TOOL_CALL_TURNS},
    {"name": "g4_tool_calls_then_answer", "template": "gemma4", "tools": [WEATHER_TOOL], "messages": TOOL_CALL_TURNS + [
        {"role": "assistant", "content": "Paris is sunny (21.5°), Tokyo has rain."},
        {"role": "user", "content": "Thanks"}]},
    {"name": "g4_tool_call_string_arguments", "template": "gemma4", "messages": [
        {"role": "user", "content": "Search"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"type": "function", "function": {"name": "search", "arguments": "query:<|\"|>cats<|\"|>"}}]},
        {"role": "tool", "tool_responses": [{"name": "search", "response": ["a", "b"]}], "content": "done"}]},
    {"name": "g4_tool_response_unnamed", "template": "gemma4", "add_generation_prompt": False, "messages": [
        {"role": "user", "content": "x"},
        {"role": "tool", "tool_responses": [{"response": 42}]}]},
    {"name": "g4_multimodal_placeholders", "template": "gemma4", "messages": [
        {"role": "user", "content": [
            {"type": "text", "text": "Describe these:"}, {"type": "image", "url": "a.png"},
            {"type": "audio", "path": "b.wav"}, {"type": "video"}, {"type": "text", "text": "  thanks  "}]}]},
    {"name": "g4_unicode_whitespace_trim", "template": "gemma4", "messages": [
        {"role": "user", "content": "\u3000\u00a0 日本語のテキスト 🎉\u2003\n\t"}]},
    {"name": "g4_system_list_content", "template": "gemma4", "messages": [
        {"role": "system", "content": [{"type": "text", "text": "It's a list"}]},
        {"role": "user", "content": "Hi"}]},
    {"name": "g4_empty_assistant", "template": "gemma4", "messages": [
        {"role": "user", "content": "Say nothing"}, {"role": "assistant", "content": ""},
        {"role": "user", "content": "ok"}]},
    {"name": "g4_assistant_last_no_prompt", "template": "gemma4", "add_generation_prompt": False,
     "enable_thinking": True, "messages": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "<|channel>thought\nthinking...<channel|>Hello"}]},
    {"name": "g4_custom_bos", "template": "gemma4", "kwargs": {"bos_token": "[BOS]"},
     "messages": [{"role": "user", "content": "Hi"}]},
    # ---- Gemma 3 ----
    {"name": "g3_single_user", "template": "gemma3", "messages": [{"role": "user", "content": "Hello!"}]},
    {"name": "g3_system_multi_turn", "template": "gemma3", "messages": [
        {"role": "system", "content": "You are a pirate."},
        {"role": "user", "content": "  Hi  "}, {"role": "assistant", "content": "Arr!"},
        {"role": "user", "content": "Where is the treasure?"}]},
    {"name": "g3_system_list_content", "template": "gemma3", "messages": [
        {"role": "system", "content": [{"type": "text", "text": "System as parts."}]},
        {"role": "user", "content": "Hi"}]},
    {"name": "g3_multimodal", "template": "gemma3", "add_generation_prompt": False, "messages": [
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": " What is shown? "}]},
        {"role": "assistant", "content": [{"type": "text", "text": "A cat."}]}]},
    {"name": "g3_roles_must_alternate", "template": "gemma3", "messages": [
        {"role": "user", "content": "a"}, {"role": "user", "content": "b"}]},
    {"name": "g3_invalid_content", "template": "gemma3", "messages": [{"role": "user", "content": 42}]},
]

# (name, template source, context)
JINJA_CASES = [
    ("text_only", "Hello\nworld\n", {}),
    ("trailing_newlines", "a\n\n", {}),
    ("crlf", "a\r\nb\rc{% if true %}\r\nx{% endif %}\r\n", {}),
    ("trim_blocks", "{% if true %}\nyes\n{% endif %}\nend", {}),
    ("lstrip_blocks", "  {% if true %}\n    x\n  {% endif %}\n  {{ 'v' }}\n", {}),
    ("lstrip_not_midline", "a {% if true %}b{% endif %} c", {}),
    ("whitespace_control", "a   {%- if true -%}   b   {%- endif -%}   c {{- ' d ' -}} e", {}),
    ("plus_modifiers", "  {%+ if true +%}\nx\n  {%+ endif %}\n", {}),
    ("comments", "a {# note #} b\n  {# own line #}\nc {#- strip -#} d", {}),
    ("raw_block", "{% raw %}{{ not evaluated }}{% endraw %}|{%- raw -%}  x  {%- endraw %}", {}),
    ("print_values", "{{ 1 }} {{ 1.5 }} {{ 1.0 }} {{ 1e20 }} {{ 0.0001 }} {{ 1e-7 }} {{ -0.0 }} {{ none }} {{ true }} {{ 'x' }}", {}),
    ("print_containers", "{{ [1, 'a', \"b'c\", none, true, 2.5] }} {{ {'k': [1, {'n': 'v'}]} }} {{ (1,) }} {{ () }} {{ ('a', 2) }}", {}),
    ("repr_escapes", "{{ ['tab\\there', 'nl\\n', 'q\\'\"', 'é', '\\x00'] }}", {}),
    ("string_escapes", "{{ 'a\\tb\\\\c\\u00e9\\x41' }}|{{ \"it's\" }}|{{ 'adjacent' 'strings' }}", {}),
    ("arithmetic", "{{ 7 + 3 }} {{ 7 - 10 }} {{ 7 * 3 }} {{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 7.5 // 2 }} {{ 2 ** -1 }} {{ 1 + true }}", {}),
    ("precedence", "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 2 ** 3 ** 2 }} {{ -2 ** 2 }} {{ 1 ~ 2 * 3 }} {{ not true or true }} {{ 'a' ~ (1 + 2) }} {{ -x | abs }} {{ not x is none }}", {"x": 3}),
    ("concat_binds_tighter_than_plus", "{{ 'a' ~ 1 + 2 }}", {}),
    ("string_ops", "{{ 'ab' + 'cd' }} {{ 'ab' * 3 }} {{ 3 * 'x' }} {{ [1] + [2] }} {{ [0] * 3 }} {{ 'a' ~ none ~ 1 ~ true }}", {}),
    ("comparisons", "{{ 1 == 1.0 }} {{ 1 != 2 }} {{ 'a' < 'b' }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ [1,2] == [1,2] }} {{ (1,2) == [1,2] }} {{ none == none }} {{ 2 >= 2 }} {{ 'b' <= 'a' }}", {}),
    ("in_operator", "{{ 'b' in 'abc' }} {{ 2 in [1,2] }} {{ 'k' in {'k': 1} }} {{ 'z' not in 'abc' }} {{ 3 not in [3] }}", {}),
    ("logic_values", "{{ 0 or 'x' }} {{ 'a' and 'b' }} {{ '' and 'b' }} {{ none or [] }} {{ not '' }}", {}),
    ("inline_if", "{{ 'yes' if x else 'no' }} {{ 'y' if not x }}|{{ 'a' if false else 'b' if true else 'c' }}", {"x": False}),
    ("is_tests", "{{ x is defined }} {{ y is undefined }} {{ none is none }} {{ 1 is number }} {{ true is number }} {{ true is boolean }} {{ 1 is boolean }} {{ 'a' is string }} {{ {} is mapping }} {{ [] is mapping }} {{ 'a' is sequence }} {{ {} is sequence }} {{ 1 is sequence }} {{ y is sequence }} {{ [] is iterable }} {{ 1 is iterable }}", {"x": 1}),
    ("is_tests_more", "{{ 1 is integer }} {{ 1.0 is float }} {{ 1 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 2 is in [1,2] }} {{ 'x' is eq 'x' }} {{ 3 is gt 2 }} {{ x is not none }} {{ 'abc' is lower }} {{ 'ABC' is upper }} {{ none is sameas none }}", {"x": None}),
    ("undefined_printing", "[{{ u }}] [{{ u ~ 'x' }}] [{{ u | default('d') }}] [{{ none | default('d') }}] [{{ '' | default('d', true) }}] [{{ u | length }}] [{{ u | trim }}] [{{ u | upper }}] [{% for x in u %}{{ x }}{% else %}empty{% endfor %}] [{{ u == u }}] [{{ 'a' in u }}] [{{ u | list }}] [{{ u | join(',') }}]", {}),
    ("undefined_attribute_error", "{{ u.attr }}", {}),
    ("undefined_add_error", "{{ u + 1 }}", {}),
    ("missing_key_is_undefined", "[{{ d.missing }}] [{{ d['missing'] }}] [{{ d.missing is defined }}] [{{ l[10] }}] [{{ none.x }}] [{{ d.a }}] [{{ d['a'] }}]", {"d": {"a": 1}, "l": [1]}),
    ("missing_key_chain_error", "{{ d.missing.deeper }}", {"d": {}}),
    ("for_loop_vars", "{% for x in ['a','b','c'] %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ x }};{% endfor %}", {}),
    ("for_prev_next_cycle", "{% for x in [1,2,3] %}{{ loop.previtem | default('-') }}{{ loop.nextitem | default('-') }}{{ loop.cycle('o','e') }} {% endfor %}", {}),
    ("for_else_and_filter", "{% for x in [1,2,3,4] if x is even %}{{ x }}/{{ loop.length }} {% else %}none{% endfor %}|{% for x in [] %}x{% else %}empty{% endfor %}", {}),
    ("for_unpack_dict", "{% for k, v in d.items() %}{{ k }}={{ v }},{% endfor %}|{% for k in d %}{{ k }}{% endfor %}|{% for (a, b) in [[1,2],[3,4]] %}{{ a + b }}{% endfor %}", {"d": {"z": 1, "a": 2}}),
    ("for_string", "{% for c in 'héé' %}[{{ c }}]{% endfor %}", {}),
    ("nested_loops", "{% for i in [1,2] %}{% for j in 'ab' %}{{ loop.index }}{{ j }}{% endfor %}{{ loop.index }}|{% endfor %}", {}),
    ("break_continue", "{% for i in range(10) %}{% if i is odd %}{% continue %}{% endif %}{% if i > 6 %}{% break %}{% endif %}{{ i }}{% endfor %}", {}),
    ("scoping", "{% set x = 'outer' %}{% for i in [1,2] %}{% if loop.first %}{% set x = 'inner' %}{% endif %}{{ x }},{% endfor %}{{ x }}", {}),
    ("namespace", "{% set ns = namespace(n=0, s='') %}{% for i in [1,2,3] %}{% set ns.n = ns.n + i %}{% set ns.s = ns.s ~ i %}{% endfor %}{{ ns.n }} {{ ns.s }} {{ ns }}", {}),
    ("namespace_underscore_error", "{% set ns = namespace() %}{% set ns._x = 1 %}", {}),
    ("set_block", "{% set block %}  Hello {{ name }}  {% endset %}[{{ block }}]{% set up | upper %}abc{% endset %}{{ up }}", {"name": "Ann"}),
    ("set_tuple", "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set t = 1, 2 %}{{ t }}", {}),
    ("macros", "{% macro greet(name, greeting='Hello', punct='!') %}{{ greeting }}, {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} {{ greet('B', 'Hi') }} {{ greet(name='C', punct='?') }}", {}),
    ("macro_recursion_and_forward_ref", "{% macro a(n) %}{% if n > 0 %}{{ n }}{{ b(n - 1) }}{% endif %}{% endmacro %}{% macro b(n) %}<{{ a(n) }}>{% endmacro %}{{ a(3) }}", {}),
    ("macro_sees_outer_at_call_time", "{% macro m() %}{{ y }}{% endmacro %}{% set y = 3 %}{{ m() }}{% set y = 4 %}{{ m() }}", {}),
    ("macro_varargs_kwargs", "{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, k='v') }}", {}),
    ("filter_block", "{% filter upper %}hello {{ 'world' }}{% endfilter %}", {}),
    ("with_block", "{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}[{{ a }}]", {}),
    ("slices", "{{ 'abcdef'[1:3] }} {{ 'abcdef'[::-1] }} {{ 'abcdef'[-2:] }} {{ [1,2,3,4][1:] }} {{ [1,2,3,4][:-1] }} {{ [1,2,3,4][::2] }} {{ 'héllo'[1] }} {{ [1,2,3][-1] }} {{ 'abc'[5:] }} {{ [1,2,3][-5:2] }} {{ 'abcdef'[4:1:-1] }}", {}),
    ("string_methods", "{{ s.split() }} {{ s.split(',') }} {{ s.split(',', 1) }} {{ s.strip() }} {{ s.lstrip() }}| {{ s.rstrip() }}|{{ 'xxhixx'.strip('x') }} {{ 'abc'.startswith('ab') }} {{ 'abc'.endswith(('x','c')) }} {{ 'Hello World'.upper() }} {{ 'Hello'.lower() }} {{ 'a-b-c'.replace('-', '+') }} {{ 'a-b-c'.replace('-', '', 1) }} {{ 'hello big world'.title() }} {{ 'abc'.find('c') }} {{ 'a,b'.rsplit(',', 1) }}", {"s": "  a,b  c ,d  "}),
    ("split_whitespace_max", "{{ '  a b  c  '.split(none, 1) }} {{ 'a\\u3000b'.split() }} {{ ''.split() }} {{ ''.split(',') }}", {}),
    ("dict_methods", "{{ d.keys() | list }} {{ d.values() | list }} {{ d.items() | list }} {{ d.get('a') }} {{ d.get('zz', 'dflt') }} {{ d.get('zz') }}", {"d": {"b": 1, "a": [2]}}),
    ("dict_items_attr_quirk", "{{ d['items'] is mapping }} {{ d.items is callable }}", {"d": {"x": 1}}),
    ("filters_basic", "{{ '  x  ' | trim }}|{{ 'xxaxx' | trim('x') }}|{{ 'abc' | upper }}|{{ 'ABC' | lower }}|{{ 'hello world' | title }}|{{ 'hello' | capitalize }}|{{ [1,2,3] | length }}|{{ 'héllo' | length }}|{{ {'a':1} | length }}|{{ 42 | string }}|{{ [1,2] | join('-') }}|{{ 'a-b' | replace('-', '+') }}", {}),
    ("filters_first_last_list", "{{ [3,1,2] | first }} {{ [3,1,2] | last }} {{ 'abc' | first }} {{ 'abc' | list }} {{ {'x':1,'y':2} | list }} [{{ [] | first }}]", {}),
    ("filter_dictsort", "{{ d | dictsort }} {{ d | dictsort(reverse=true) }} {{ d | dictsort(true) }} {{ d | dictsort(by='value') }}", {"d": {"b": 2, "A": 3, "a": 1, "C": 0}}),
    ("filter_items", "{% for k, v in d | items %}{{ k }}{{ v }}{% endfor %} {{ u | items | list }}", {"d": {"b": 2, "a": 1}}),
    ("filter_map_select", "{{ users | map(attribute='name') | list }} {{ ['a','b'] | map('upper') | join }} {{ users | selectattr('admin') | map(attribute='name') | list }} {{ users | rejectattr('admin') | list | length }} {{ [1,2,3,4] | select('odd') | list }} {{ [1,2,3,4] | reject('even') | list }} {{ users | selectattr('name', 'equalto', 'bo') | list }} {{ users | map(attribute='missing', default='?') | list }}", {"users": [{"name": "al", "admin": True}, {"name": "bo", "admin": False}]}),
    ("filter_tojson", "{{ data | tojson }}|{{ data | tojson(indent=2) }}|{{ data | tojson(sort_keys=true) }}|{{ 'é<>&\\'' | tojson }}|{{ [] | tojson(indent=2) }}|{{ {} | tojson }}|{{ [1.0, 1e20, -0.5, none, true] | tojson }}|{{ data | tojson(separators=(',', ':')) }}|{{ 'é😀' | tojson(ensure_ascii=true) }}", {"data": {"z": [1, "two", {"x": None}], "a": "ctrl\u0001\n\t\"q\"", "m": 1.5}}),
    ("filter_tojson_undefined_error", "{{ u | tojson }}", {}),
    ("filter_misc", "{{ [3,1,2] | sort }} {{ ['b','A','a'] | sort }} {{ [1,2] | reverse | list }} {{ 'abc' | reverse }} {{ [1,1,2] | unique | list }} {{ [1,5,3] | max }} {{ [4,2,8] | min }} {{ [1,2,3] | sum }} {{ -3 | abs }} {{ '42' | int }} {{ 'x' | int }} {{ '1.5' | float }} {{ 2.567 | round(2) }} {{ 'a\\nb' | indent(2) }} {{ '<a>' | e }}", {}),
    ("range_and_dict", "{{ range(3) | list }} {{ range(1, 10, 3) | list }} {{ dict(a=1, b=2) }} {{ dict([['x', 1]]) }}", {}),
    ("raise_exception", "before{{ raise_exception('Custom failure: ' ~ n) }}", {"n": 7}),
    ("type_error_concat", "{{ 'a' + 1 }}", {}),
    ("division_by_zero", "{{ 1 / 0 }}", {}),
    ("call_non_callable", "{{ x() }}", {"x": 5}),
    ("unknown_filter", "{% if false %}{{ x | nosuchfilter }}{% endif %}", {}),
    ("syntax_error_unclosed", "line one\n{% if x %}\nno end", {}),
    ("syntax_error_bad_expr", "ok\n  {{ 1 + }}", {}),
    ("syntax_error_unknown_tag", "{% frobnicate %}", {}),
    ("syntax_error_unbalanced", "{{ (1 + 2 }}", {}),
    ("unicode_text", "{{ s }} {{ s | length }} {{ s[0] }} {{ s.upper() }} {{ s | trim }}", {"s": " ¡Hola, 世界! 🎉 "}),
    ("unicode_case", "{{ s | upper }}|{{ s | lower }}|{{ s.title() }}|{{ s | capitalize }}|{{ s | title }}|{{ s.upper() }}|{{ d | dictsort }}|{{ 'ΟΔΟΣ ΣΑΣ'.lower() }}",
     {"s": "ßtraße Ÿÿ ÀÉÎõü ĀāĲĳŁłŽž ΑΒΓ αβγ ΌΣΟΣ όσος ДОБРО добро Ёё ı ſ µ ß", "d": {"Éa": 1, "éb": 2, "Zc": 3, "ab": 4}}),
    ("nested_data_access", "{{ m.tool_calls[0].function.name }} {{ m['tool_calls'][0]['function']['arguments']['x'] }} {{ m.content is none }}", {"m": {"tool_calls": [{"function": {"name": "f", "arguments": {"x": [1, 2]}}}], "content": None}}),
    ("json_numbers", "{{ i }} {{ f }} {{ big }} {{ neg }} {{ i + f }} {{ f * 2 }} {{ small }}", {"i": 3, "f": 0.1, "big": 12345678901234, "neg": -2.5e-8, "small": 1e-5}),
    ("generation_tag", "a{% generation %}b{{ 1 }}{% endgeneration %}c", {}),
    ("condexpr_without_else_defined", "{{ (1 if false) is defined }}", {}),
]


# ---- seeded random conversations (stress dictsort, repr, trimming, tool syntax) ----
import random as _random

_WORDS = ["hello", "World", " spaced ", "\n", "\t", "é", "日本", "🎉", "<|channel>", "<channel|>", "thought\n",
          "<|\"|>", "it's", "\"q\"", "\\", "{", "}", ":", ",", "\u3000", "\xa0", "0", "1.5", "None", "True"]
_KEYS = ["a", "B", "b", "A", "zeta", "Alpha", "x_1", "key", "Key", "é", "type", "description", "properties",
         "required", "nullable", "enum", "items"]


def _random_chat_cases(seed, n):
    rng = _random.Random(seed)

    def rstr():
        return "".join(rng.choice(_WORDS) for _ in range(rng.randint(0, 8)))

    def rval(d=0):
        r = rng.random()
        if d > 2 or r < 0.3:
            return rstr()
        if r < 0.4:
            return rng.randint(-1000, 10**12)
        if r < 0.5:
            return rng.choice([0.5, -2.25, 1e-7, 1e20, 3.0, 0.1])
        if r < 0.6:
            return rng.choice([True, False, None])
        if r < 0.8:
            return [rval(d + 1) for _ in range(rng.randint(0, 3))]
        return {rng.choice(_KEYS): rval(d + 1) for _ in range(rng.randint(0, 4))}

    def rschema(d=0):
        t = rng.choice(["string", "integer", "number", "boolean", "object", "array", "STRING"])
        s = {"type": t}
        if rng.random() < 0.5:
            s["description"] = rstr()
        if rng.random() < 0.2:
            s["nullable"] = rng.choice([True, False])
        if t.lower() == "string" and rng.random() < 0.4:
            s["enum"] = [rstr() for _ in range(rng.randint(1, 3))]
        if t == "object" and d < 2:
            s["properties"] = {rng.choice(_KEYS): rschema(d + 1) for _ in range(rng.randint(0, 3))}
            if rng.random() < 0.5:
                s["required"] = list(s["properties"])[:1]
        if t == "array" and d < 2 and rng.random() < 0.7:
            s["items"] = rschema(d + 1)
        return s

    def rtool():
        f = {"name": rng.choice(["get_x", "search", "Do-It"]), "description": rstr()}
        if rng.random() < 0.8:
            f["parameters"] = {"type": "object",
                               "properties": {rng.choice(_KEYS): rschema() for _ in range(rng.randint(0, 4))}}
            if rng.random() < 0.5:
                f["parameters"]["required"] = list(f["parameters"]["properties"])[:2]
        if rng.random() < 0.2:
            f["response"] = {"type": rng.choice(["object", "string"]), "description": rstr()}
        return {"type": "function", "function": f}

    def rcontent():
        if rng.random() < 0.6:
            return rstr()
        parts = []
        for _ in range(rng.randint(0, 4)):
            t = rng.choice(["text", "text", "image", "audio", "video"])
            parts.append({"type": t, "text": rstr()} if t == "text" else {"type": t})
        return parts

    def rmsg(first):
        role = rng.choice(["user", "assistant", "tool"] + (["system", "developer"] if first else []))
        m = {"role": role}
        if rng.random() < 0.9:
            m["content"] = rcontent()
        if role == "assistant" and rng.random() < 0.4:
            m["tool_calls"] = [{"type": "function", "function": {
                "name": f"f{i}",
                "arguments": rval() if rng.random() < 0.2 else {rng.choice(_KEYS): rval() for _ in range(rng.randint(0, 4))}}}
                for i in range(rng.randint(1, 2))]
        if role == "tool" and rng.random() < 0.8:
            m["tool_responses"] = [{"name": "f", "response": rval()} if rng.random() < 0.8 else {"response": rval()}]
        if rng.random() < 0.1:
            m["reasoning_content"] = rstr()
        return m

    cases = []
    for i in range(n):
        template = "gemma3" if rng.random() < 0.2 else "gemma4"
        case = {"name": f"random_{seed}_{i:02d}_{template}", "template": template,
                "messages": [rmsg(j == 0) for j in range(rng.randint(1, 5))]}
        if rng.random() < 0.4:
            case["tools"] = [rtool() for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.6:
            case["enable_thinking"] = rng.choice([True, False])
        case["add_generation_prompt"] = rng.choice([True, False])
        cases.append(case)
    return cases


CHAT_CASES += _random_chat_cases(seed=4, n=60)
