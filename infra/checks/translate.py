"""Translate the SAM template to plain CloudFormation, offline, the way CloudFormation's
AWS::Serverless transform does (same library: samtranslator, from aws-sam-cli).

    python infra/checks/translate.py [infra/template.yaml] [OUT.json]

Local CodeUri paths become placeholder S3 locations (the translator accepts only S3), and no
managed-policy lookup is made (the template names no managed policies; SAM policy templates are
forbidden by the invariant tests). Writes JSON to OUT (stdout without it).
"""

from __future__ import annotations

import copy
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"

# Pseudo parameters as CloudFormation would pass them (account and region are placeholders).
PSEUDO = {
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "recert-check",
    "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/recert-check/00000000-0000-0000-0000-000000000000",
    "AWS::NotificationARNs": [],
    "AWS::NoValue": None,
}


def load_sam(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as a dict with the short intrinsic forms (!Ref...) expanded."""
    from samtranslator.yaml_helper import yaml_parse

    return yaml_parse(path.read_text())


def _placeholder_code_uris(template: dict[str, Any]) -> None:
    for name, res in template.get("Resources", {}).items():
        if res.get("Type") == "AWS::Serverless::Function":
            props = res.setdefault("Properties", {})
            uri = props.get("CodeUri")
            if isinstance(uri, str) and not uri.startswith("s3://"):
                props["CodeUri"] = f"s3://recert-check-bucket/{name}.zip"


def translate(sam: dict[str, Any]) -> dict[str, Any]:
    """The CloudFormation template SAM produces for `sam` (not modified)."""
    os.environ.setdefault("AWS_DEFAULT_REGION", PSEUDO["AWS::Region"])
    from boto3.session import Session
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    template = copy.deepcopy(sam)
    _placeholder_code_uris(template)
    translator = Translator(
        managed_policy_map=None,
        sam_parser=Parser(),
        plugins=[],
        boto_session=Session(region_name=PSEUDO["AWS::Region"]),
    )
    return translator.translate(
        sam_template=template,
        parameter_values=dict(PSEUDO),
        get_managed_policy_map=lambda: {},
    )


def main(argv: list[str]) -> int:
    src = Path(argv[1]) if len(argv) > 1 else TEMPLATE
    out = translate(load_sam(src))
    text = json.dumps(out, indent=2, sort_keys=True, default=str)
    if len(argv) > 2:
        Path(argv[2]).write_text(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
