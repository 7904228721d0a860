"""SigV4 signing (tools/jobu_local/aws/sigv4.py) against AWS's own test suite vectors, with the
headers a caller forwards, and temporary credentials."""

from __future__ import annotations

from datetime import datetime

import boto3
import botocore.auth
import pytest
from botocore.credentials import Credentials

from jobu_local.aws.sigv4 import SigningError, SigV4Signer, region_of

# The credentials, date, region and service of AWS's SigV4 test suite (aws-sig-v4-test-suite).
SUITE = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")


def signer(credentials: Credentials, region: str, service: str = "execute-api") -> SigV4Signer:
    session = boto3.session.Session(
        aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key,
        aws_session_token=credentials.token,
    )
    return SigV4Signer(region=region, session=session, service=service)


SUITE_SCOPE = "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date"


@pytest.fixture
def suite_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: datetime(2015, 8, 30, 12, 36, 0))


@pytest.mark.parametrize(
    ("url", "signature"),
    [
        # get-vanilla
        (
            "https://example.amazonaws.com/",
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        ),
        # get-vanilla-query-order-key-case: the query is sorted before signing
        (
            "https://example.amazonaws.com/?Param2=value2&Param1=value1",
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
        ),
    ],
)
def test_signatures_match_aws_test_suite(suite_time: None, url: str, signature: str) -> None:
    headers = signer(SUITE, "us-east-1", service="service").sign("GET", url)

    assert headers == {
        "Host": "example.amazonaws.com",
        "X-Amz-Date": "20150830T123600Z",
        "Authorization": f"AWS4-HMAC-SHA256 {SUITE_SCOPE}, Signature={signature}",
    }


def test_the_headers_given_are_signed_and_temporary_credentials_carry_their_token(suite_time: None) -> None:
    temporary = Credentials("ASIAEXAMPLE", "secret", token="session-token")
    body = b'{"dry_run": true}'

    headers = signer(temporary, "eu-west-1").sign(
        "post",
        "https://abc123.execute-api.eu-west-1.amazonaws.com/api/jobs/bulk-retry",
        headers={"Content-Type": "application/json"},
        body=body,
    )

    assert headers["X-Amz-Security-Token"] == "session-token"
    assert headers["Host"] == "abc123.execute-api.eu-west-1.amazonaws.com"
    assert headers["Authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20150830/eu-west-1/execute-api/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature="
    )
    other_body = signer(temporary, "eu-west-1").sign(
        "POST",
        "https://abc123.execute-api.eu-west-1.amazonaws.com/api/jobs/bulk-retry",
        headers={"Content-Type": "application/json"},
        body=b'{"dry_run": false}',
    )
    assert other_body["Authorization"] != headers["Authorization"]  # the body is signed


def test_the_region_comes_from_an_execute_api_host() -> None:
    assert region_of("https://abc123.execute-api.eu-central-1.amazonaws.com/") == "eu-central-1"
    assert region_of("https://abc123.execute-api.cn-north-1.amazonaws.com.cn/prod/") == "cn-north-1"
    assert region_of("https://admin.example.com/") is None
    assert region_of("http://127.0.0.1:3000") is None


@pytest.mark.usefixtures("no_aws_credentials")
def test_no_credentials_is_a_clear_error() -> None:
    with pytest.raises(SigningError, match="no AWS credentials to sign requests with"):
        SigV4Signer(region="us-east-1").sign("GET", "https://abc123.execute-api.us-east-1.amazonaws.com/")
