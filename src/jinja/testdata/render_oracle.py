#!/usr/bin/python3
"""Reference renderer for r1.cpp's Jinja engine tests.

Renders templates with Debian's python3-jinja2 configured the way HF
transformers' apply_chat_template configures it:
  ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                extensions=[loopcontrols])
  tojson  = json.dumps(x, ensure_ascii=False, indent=indent, ...)
  globals: raise_exception (raises TemplateError), strftime_now

usage: render_oracle.py JOBS.json OUT.json
  JOBS.json: [{"template": "...", "context": {...}}, ...]
  OUT.json:  [{"ok": true, "output": "..."} | {"ok": false, "error": "..."}, ...]
Key order of every object is kept as it appears in JOBS.json.
"""
import json
import sys
from datetime import datetime

import jinja2
from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment


def raise_exception(message):
    raise TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent,
                      separators=separators, sort_keys=sort_keys)


def strftime_now(fmt):
    return datetime.now().strftime(fmt)


def make_env():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=["jinja2.ext.loopcontrols"])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        jobs = json.load(f)
    env = make_env()
    results = []
    for job in jobs:
        try:
            out = env.from_string(job["template"]).render(**job.get("context", {}))
            results.append({"ok": True, "output": out})
        except Exception as e:  # any failure is a result to compare
            results.append({"ok": False, "error": "%s: %s" % (type(e).__name__, e)})
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(results, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
