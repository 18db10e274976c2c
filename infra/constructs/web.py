"""The web page: a private bucket behind CloudFront (origin access control), its config.json and sign-in.

The page (``web/dist``, built from ``web/src``) is the same one ``imgflow serve`` serves. Here it signs in
through the user pool's hosted sign-in (authorization code with PKCE, no client secret); the callback and
sign-out URLs are the distribution's own address.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration, Fn, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from imgflow.uploads import ALLOWED_CONTENT_TYPES
from infra.config import StageConfig
from infra.constructs.functions import nag_arn
from infra.constructs.storage import Storage, _secure_bucket_props
from infra.nag import acknowledge
from web import build

#: Scopes the page asks for: openid (a sign-in), email (shown as who is signed in).
SCOPES = (cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL)
#: Code and styles from the distribution only; the API, presigned S3 URLs and the token endpoint by host.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data: https://*.amazonaws.com; "
    "connect-src 'self' https://*.amazonaws.com https://*.amazoncognito.com; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'; object-src 'none'"
)

_DEPLOY_ONLY = (
    "CDK's BucketDeployment handler runs only while deploying, copying the page into the web bucket"
)
_BASIC_ROLE = "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
_ASSETS = "arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*"


def _deployment_findings(web_objects: str) -> dict[str, str]:
    """cdk-nag findings on CDK's own BucketDeployment handler (a deploy-time custom resource), granular."""
    findings = {
        f"AwsSolutions-IAM4[Policy::{_BASIC_ROLE}]": "the basic execution role only writes its own logs",
        f"AwsSolutions-IAM5[Resource::{web_objects}]": "it writes any key of the page into the web bucket",
        f"AwsSolutions-IAM5[Resource::{_ASSETS}]": "it reads the page's zip from the CDK bootstrap bucket",
        "AwsSolutions-IAM5[Resource::*]": "CDK grants CreateInvalidation/GetInvalidation on any resource",
        "AwsSolutions-L1": "aws-cdk-lib picks its runtime and moves it forward with CDK upgrades",
    }
    for action in ("s3:Abort*", "s3:DeleteObject*", "s3:GetBucket*", "s3:GetObject*", "s3:List*"):
        findings[f"AwsSolutions-IAM5[Action::{action}]"] = f"CDK's grant {action} on those two buckets only"
    return {finding: f"{_DEPLOY_ONLY}: {why}." for finding, why in findings.items()}


def _dist() -> str:
    """``web/dist``, rebuilt first if it does not hold the current sources."""
    if not build.is_current():
        build.build()
    return str(build.DIST)


class WebHosting(Construct):
    """Bucket + CloudFront distribution; ``publish`` adds the files, config.json and the sign-in domain."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, storage: Storage) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            **_secure_bucket_props(config),
            server_access_logs_bucket=storage.access_logs,
            server_access_logs_prefix="web/",
        )
        headers = cloudfront.ResponseHeadersPolicy(
            self,
            "Headers",
            comment=f"imgflow {config.stage} web page: CSP and security headers",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=CONTENT_SECURITY_POLICY, override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True
                ),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(365), include_subdomains=True, override=True
                ),
            ),
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"imgflow {config.stage} web page",
            default_root_object="index.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=headers,
                compress=True,
            ),
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR1",
            "A sign-in protected photo page for its own users; no country is excluded. Add a geo restriction "
            "on the distribution if a deployment must.",
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR2",
            "Static files only (no server code behind CloudFront): the API has its own throttling and JWT "
            "authorizer; attach a WAF web ACL per deployment if one is mandated.",
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR3",
            "The origin bucket has S3 server access logs (to the stack's access-log bucket); CloudFront "
            "standard logging needs an ACL-enabled bucket, which every bucket here refuses by design.",
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR4",
            "With the default *.cloudfront.net certificate CloudFront fixes the minimum viewer protocol; "
            "a custom domain (with its ACM certificate and TLSv1.2_2021) is a per-deployment choice.",
        )

    @property
    def url(self) -> str:
        """``https://<distribution domain>/``: where the page lives and sign-in returns to."""
        return f"https://{self.distribution.distribution_domain_name}/"

    def publish(
        self,
        *,
        api_url: str,
        user_pool: cognito.UserPool,
        client: cognito.UserPoolClient,
        max_bytes: int,
    ) -> None:
        """The page's files and config.json (API, hosted sign-in) into the bucket; CloudFront invalidated."""
        # The stack id's UUID makes the sign-in prefix unique without naming the account.
        unique = Fn.select(0, Fn.split("-", Fn.select(2, Fn.split("/", Aws.STACK_ID))))
        self.sign_in = user_pool.add_domain(
            "SignIn",
            cognito_domain=cognito.CognitoDomainOptions(
                domain_prefix=Fn.join("-", ["imgflow", self.config.stage, unique])
            ),
        )
        page_config = {
            "api": api_url,
            "auth": {
                "type": "cognito",
                "domain": self.sign_in.base_url(),
                "client_id": client.user_pool_client_id,
                "redirect_uri": self.url,
                "scopes": [scope.scope_name for scope in SCOPES],
            },
            "max_bytes": max_bytes,
            "content_types": sorted(ALLOWED_CONTENT_TYPES),
        }
        self.deployment = s3deploy.BucketDeployment(
            self,
            "Files",
            destination_bucket=self.bucket,
            sources=[
                s3deploy.Source.asset(_dist(), exclude=["manifest.json"]),
                s3deploy.Source.json_data("config.json", page_config),
            ],
            cache_control=[s3deploy.CacheControl.no_cache()],
            distribution=self.distribution,
            distribution_paths=["/*"],
            memory_limit=256,
        )
        # The deployment's handler is a singleton at the stack's root.
        stack = Stack.of(self)
        handlers = [c for c in stack.node.children if c.node.id.startswith("Custom::CDKBucketDeployment")]
        for handler in handlers:
            for finding, reason in _deployment_findings(
                nag_arn(self, self.bucket.arn_for_objects("*"))
            ).items():
                acknowledge(handler, finding, reason)
