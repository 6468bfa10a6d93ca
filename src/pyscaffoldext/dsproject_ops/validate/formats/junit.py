"""JUnit XML: a test suite per family, a test case per check (for CI test reports)."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from ..registry import families_of
from ..runner import Result


def render(result: Result) -> str:
    suites = ET.Element("testsuites", name="dsops validate")
    for family, checks in families_of(result.checks):
        suite = ET.SubElement(suites, "testsuite", name=family)
        failures = skipped = 0
        for check in checks:
            case = ET.SubElement(
                suite, "testcase", classname=f"dsops.{family}", name=f"{check.code} {check.summary}"
            )
            status = result.status.get(check.code, "not applicable")
            found = [f for f in result.findings if f.code == check.code]
            if found:
                failures += 1
                failure = ET.SubElement(
                    case, "failure", type=found[0].severity, message=f"{len(found)} finding(s)"
                )
                failure.text = "\n".join(f"{f.location()}: {f.message}" for f in found)
            elif status != "passed":
                skipped += 1
                ET.SubElement(case, "skipped", message=result.skipped.get(check.code, status))
        suite.set("tests", str(len(checks)))
        suite.set("failures", str(failures))
        suite.set("errors", "0")
        suite.set("skipped", str(skipped))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, "unicode") + "\n"
