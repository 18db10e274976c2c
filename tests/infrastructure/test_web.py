"""The deployed web page: private bucket behind CloudFront (OAC), config.json, hosted sign-in with PKCE."""

from __future__ import annotations

import json
from typing import Any

from tests.support.synth import Synth, render
from web import build


def _one(synth: Synth, kind: str) -> tuple[str, dict[str, Any]]:
    (item,) = synth.of_type(kind).items()
    return item[0], item[1]["Properties"]


def test_web_bucket_is_private_and_read_only_by_the_distribution(synth: Synth) -> None:
    bucket = synth.logical_id(synth.stack.web.bucket)
    props = synth.resources[bucket]["Properties"]
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert "WebsiteConfiguration" not in props  # not an S3 website: CloudFront reads it through OAC
    assert "LoggingConfiguration" in props
    distribution, _ = _one(synth, "AWS::CloudFront::Distribution")
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in synth.of_type("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket}
    ]
    allows = [s for s in policy if s["Effect"] == "Allow"]
    assert allows, policy
    for statement in allows:
        assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
        assert statement["Action"] == "s3:GetObject"
        source = render(statement["Condition"]["StringEquals"]["AWS:SourceArn"])
        assert source.endswith(f"distribution/<{distribution}>")
    deny = [s for s in policy if s["Effect"] == "Deny"]
    assert {"Bool": {"aws:SecureTransport": "false"}} in [s["Condition"] for s in deny]


def test_distribution_uses_origin_access_control_https_and_security_headers(synth: Synth) -> None:
    oac, oac_props = _one(synth, "AWS::CloudFront::OriginAccessControl")
    config = oac_props["OriginAccessControlConfig"]
    assert (config["OriginAccessControlOriginType"], config["SigningBehavior"]) == ("s3", "always")
    _, props = _one(synth, "AWS::CloudFront::Distribution")
    dist = props["DistributionConfig"]
    assert dist["DefaultRootObject"] == "index.html"
    (origin,) = dist["Origins"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": [oac, "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # no legacy OAI
    behavior = dist["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    _, headers = _one(synth, "AWS::CloudFront::ResponseHeadersPolicy")
    security = headers["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    csp = security["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "http:" not in csp.replace("https:", "")


def test_sign_in_is_the_hosted_ui_with_code_flow_back_to_the_distribution(synth: Synth) -> None:
    distribution, _ = _one(synth, "AWS::CloudFront::Distribution")
    _, client = _one(synth, "AWS::Cognito::UserPoolClient")
    assert client["AllowedOAuthFlows"] == ["code"]  # authorization code (the page adds PKCE)
    assert client["AllowedOAuthFlowsUserPoolClient"] is True
    assert client["GenerateSecret"] is False  # a public client: a browser cannot keep a secret
    assert set(client["AllowedOAuthScopes"]) == {"openid", "email"}
    page = f"https://<{distribution}.DomainName>/"
    assert [render(u) for u in client["CallbackURLs"]] == [page]
    assert [render(u) for u in client["LogoutURLs"]] == [page]
    assert client["SupportedIdentityProviders"] == ["COGNITO"]
    _, domain = _one(synth, "AWS::Cognito::UserPoolDomain")
    prefix = render(domain["Domain"])
    assert prefix.startswith("imgflow-dev-")  # + part of the stack id: unique, no account id


def test_files_and_config_json_are_deployed_and_cloudfront_invalidated(synth: Synth) -> None:
    bucket = synth.logical_id(synth.stack.web.bucket)
    distribution, _ = _one(synth, "AWS::CloudFront::Distribution")
    _, props = _one(synth, "Custom::CDKBucketDeployment")
    assert props["DestinationBucketName"] == {"Ref": bucket}
    assert props["DistributionId"] == {"Ref": distribution}
    assert props["DistributionPaths"] == ["/*"]
    assert props["SystemMetadata"]["cache-control"] == "no-cache"
    assert len(props["SourceObjectKeys"]) == 2  # the page's files + config.json
    # config.json's deploy-time values: the API URL, the app client, the sign-in domain, the page's URL.
    (markers,) = [m for m in render(props["SourceMarkers"]) if m]
    values = {json.loads(v) for v in markers.values()}
    client = synth.logical_id(synth.stack.api.client)
    api = synth.logical_id(synth.stack.api.http_api)
    assert {f"<{api}.ApiEndpoint>/", f"<{client}>", f"https://<{distribution}.DomainName>/"} <= values
    assert any(v.startswith("https://") and "amazoncognito.com" in v for v in values), values


def test_outputs_name_the_page_and_sign_in(synth: Synth) -> None:
    assert {"WebUrl", "SignInUrl"} <= set(synth.outputs)


def test_build_refuses_a_remote_script(tmp_path: Any) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "index.html").write_text('<script src="https://cdn.example.com/lib.js"></script>')
    try:
        build.build(tmp_path / "dist", src)
    except build.BuildError as exc:
        assert "another origin" in str(exc)
    else:
        raise AssertionError("a CDN script was accepted")
    (src / "index.html").write_text('<script type="module" src="app.js"></script>')
    (src / "app.js").write_text('import { x } from "./x.js";\n')
    out = build.build(tmp_path / "dist", src)
    assert sorted(p.name for p in out.iterdir()) == ["app.js", "index.html", "manifest.json"]
    assert build.is_current(out, src)
