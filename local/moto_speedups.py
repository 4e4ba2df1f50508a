"""TWIN-ONLY speed-ups: work moto repeats for every twin or every execution, done once or only when
needed. Nothing here changes what moto answers; applied by local.twin.Twin only.

- Step Functions: moto parses a definition with its ANTLR grammar at CreateStateMachine and again at
  every StartExecution (most of a twin's deploy, and the largest share of a workflow run's own CPU).
  A definition's parse tree never changes, so it is kept per definition text; every execution still
  gets a program of its own (moto's Preprocessor builds it from the tree on each call), so no state
  is shared between executions. Syntax errors are raised as before (nothing is kept for them).
- IAM: with AWS-managed policies loaded, moto builds its ~1,600 managed policies for every partition
  (eight) at an account's first request of any service. The twin lives in the aws partition: it
  gets them all, parsed from moto's JSON once per process; the other partitions get none.
- KMS: moto makes an RSA-2048 private key for every CreateKey, symmetric keys included, though only
  Sign, Verify and GetPublicKey use it. It is made on first use instead.
"""

from __future__ import annotations

import functools
import json
from contextlib import ExitStack, contextmanager
from typing import Any, Iterator
from unittest import mock


@functools.lru_cache(maxsize=16)
def _parse_tree(definition: str):
    from antlr4 import CommonTokenStream, InputStream
    from moto.stepfunctions.parser.asl.antlr.runtime.ASLLexer import ASLLexer
    from moto.stepfunctions.parser.asl.antlr.runtime.ASLParser import ASLParser
    from moto.stepfunctions.parser.asl.parse.asl_parser import ASLParserException, SyntaxErrorListener

    errors = SyntaxErrorListener()
    parser = ASLParser(CommonTokenStream(ASLLexer(InputStream(definition))))
    parser.removeErrorListeners()
    parser.addErrorListener(errors)
    tree = parser.state_machine()
    if errors.errors:
        raise ASLParserException(errors=errors.errors)
    return tree


def _parse(definition: str):
    """AmazonStateLanguageParser.parse, with the parse tree kept per definition."""
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    tree = _parse_tree(definition)
    return Preprocessor().visit(tree), tree


@functools.cache
def _aws_managed_policies() -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return json.loads(aws_managed_policies_data)


def _init_aws_policies(backend) -> list:
    from moto.iam import models
    from moto.utilities.utils import get_partition

    if not models.load_iam_aws_managed_policies() or get_partition(backend.region_name) != "aws":
        return []
    return [
        models.AWSManagedPolicy.from_data(name, backend.account_id, backend.region_name, data)
        for name, data in _aws_managed_policies().items()
    ]


class _PrivateKeyOnFirstUse:
    """Stands for moto's private key of a KMS key until something uses it."""

    def __init__(self, key_spec: str, generate):
        self._key_spec, self._generate, self._key = key_spec, generate, None

    def __getattr__(self, name: str):
        if self._key is None:
            self._key = self._generate(self._key_spec)
        return getattr(self._key, name)


@contextmanager
def applied() -> Iterator[None]:
    from moto.iam.models import IAMBackend
    from moto.kms import models as kms_models
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    generate = kms_models.generate_private_key
    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(AmazonStateLanguageParser, "parse", staticmethod(_parse)))
        stack.enter_context(mock.patch.object(IAMBackend, "_init_aws_policies", _init_aws_policies))
        stack.enter_context(
            mock.patch.object(kms_models, "generate_private_key", lambda key_spec: _PrivateKeyOnFirstUse(key_spec, generate))
        )
        yield
