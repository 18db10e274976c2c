"""The HTTP API: Cognito user pool + JWT authorizer, the API Lambda, CORS, access logs, throttling."""

from __future__ import annotations

import json

import jsii
from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from imgflow.records.table import BY_CONTENT, BY_OWNER
from infra.bundling import REPO
from infra.config import StageConfig
from infra.constructs.functions import OBJECTS_REASON, Functions, lambda_code
from infra.constructs.storage import Storage
from infra.nag import acknowledge

API_HANDLER = "api.handler.lambda_handler"
#: Wheels the API bundles, if it ever needs any beyond the runtime's boto3 and the Powertools layer.
API_REQUIREMENTS = "requirements/api.txt"
#: What the API bundle holds besides ``imgflow``: its code and the ASL file GET /workflow draws.
API_SOURCES = ("api", "statemachine/ingest.asl.json")
#: HTTP API access-log fields (only variables HTTP APIs support).
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "method": "$context.httpMethod",
    "routeKey": "$context.routeKey",
    "path": "$context.path",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage",
    "authorizerError": "$context.authorizer.error",
    "sub": "$context.authorizer.claims.sub",
}


def api_code(config: StageConfig) -> lambda_.Code:
    """The API's bundle: ``API_SOURCES``, ``imgflow`` and ``API_REQUIREMENTS`` if that file exists."""
    return lambda_code(config, API_SOURCES, API_REQUIREMENTS if (REPO / API_REQUIREMENTS).exists() else None)


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogSettings:
    def __init__(self, destination: apigwv2.IAccessLogDestination, format: apigw.AccessLogFormat) -> None:
        self._destination, self._format = destination, format

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return self._format


class Api(Construct):
    """``/{proxy+}`` (GET, POST, PUT, PATCH, DELETE) -> API Lambda, every route behind the Cognito JWT."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        storage: Storage,
        functions: Functions,
        ingest: sfn.IStateMachine,
        ingest_name: str,
        web_url: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        retain = RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY

        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            removal_policy=retain,
        )
        acknowledge(
            self.user_pool,
            "AwsSolutions-COG2",
            "MFA is OPTIONAL (TOTP) so users can enrol; requiring it would lock out the first admin-created "
            "users and CLI/test clients. Self sign-up is disabled: an operator creates every user.",
        )
        acknowledge(
            self.user_pool,
            "AwsSolutions-COG8",
            "The Plus feature plan (threat protection) is a per-user paid tier; users are operator-created "
            "only (no self sign-up), passwords are strict, tokens short-lived. Enable per stage if needed.",
        )
        self.client = self.user_pool.add_client(
            "Client",
            auth_flows=cognito.AuthFlow(user_srp=True, user_password=True),
            generate_secret=False,
            prevent_user_existence_errors=True,
            access_token_validity=Duration.hours(1),
            id_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.days(30),
            # The web page signs in through the hosted sign-in: authorization code + PKCE, no secret.
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL],
                callback_urls=[web_url] if web_url else None,
                logout_urls=[web_url] if web_url else None,
            )
            if web_url
            else None,
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
        )

        # HMAC key of the API's list cursors: one random value every API instance shares.
        self.cursor_key = secretsmanager.Secret(
            self,
            "CursorKey",
            description=f"imgflow {config.stage}: HMAC key of the API's list cursors",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
        )
        acknowledge(
            self.cursor_key,
            "AwsSolutions-SMG4",
            "Only signs pagination cursors (tamper evidence, no data access); it reaches the API as a deploy-"
            "time value, so rotation means a redeploy and only invalidates cursors in flight. Rotate by "
            "changing the secret and redeploying.",
        )
        self.function = functions.make(
            "Function",
            scope=self,
            handler=API_HANDLER,
            code=api_code(config),
            memory_mb=512,
            timeout_s=10,
            description=f"imgflow HTTP API ({config.stage})",
            extra_environment={
                "IMGFLOW_INGEST_STATE_MACHINE_ARN": ingest.state_machine_arn,
                # Resolved by CloudFormation at deploy time (a dynamic reference, not in the template).
                "IMGFLOW_CURSOR_KEY": self.cursor_key.secret_value.unsafe_unwrap(),
            },
        )
        uploads, renditions = storage.uploads_objects_arn(), storage.renditions_objects_arn()
        table = storage.table.table_arn
        # DELETE stops a run still working on the image: any execution of the ingest machine.
        executions = Stack.of(self).format_arn(
            service="states",
            resource="execution",
            resource_name=f"{ingest_name}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        functions.allow(
            self.function,
            [
                # The presigned POST is signed with this role: the browser's upload is this PutObject.
                iam.PolicyStatement(actions=["s3:PutObject"], resources=[uploads]),
                # Presigned GETs of originals and renditions.
                iam.PolicyStatement(actions=["s3:GetObject"], resources=[uploads, renditions]),
                # DeleteObjects (batch) is authorised per key by s3:DeleteObject.
                iam.PolicyStatement(actions=["s3:DeleteObject"], resources=[uploads, renditions]),
                # DELETE lists the image's renditions (<owner>/<id>/) to remove them all.
                iam.PolicyStatement(actions=["s3:ListBucket"], resources=[storage.renditions.bucket_arn]),
                iam.PolicyStatement(
                    actions=[
                        # PutItem: a new PENDING record, a DELETE's tombstone; GetItem: a PutItem botocore
                        # retried after it was applied is recognised as ours.
                        "dynamodb:GetItem",
                        "dynamodb:PutItem",
                        "dynamodb:UpdateItem",
                        # The owner's image by id (a Query on the key, filtered by owner).
                        "dynamodb:Query",
                        # GET /images/{id}/similar reads the candidates' records; DELETE removes the
                        # image's perceptual-hash band items.
                        "dynamodb:BatchGetItem",
                        "dynamodb:BatchWriteItem",
                    ],
                    resources=[table],
                ),
                # Lists (by_owner, filtered by status there) and POST /uploads' known bytes (by_content).
                iam.PolicyStatement(
                    actions=["dynamodb:Query"], resources=storage.index_arns(BY_OWNER, BY_CONTENT)
                ),
                iam.PolicyStatement(actions=["states:StartExecution"], resources=[ingest.state_machine_arn]),
                iam.PolicyStatement(actions=["states:StopExecution"], resources=[executions]),
                # GET /images/{id}/runs: the timelines of the image's executions.
                iam.PolicyStatement(
                    actions=["states:DescribeExecution", "states:GetExecutionHistory"], resources=[executions]
                ),
            ],
            wildcards={
                uploads: OBJECTS_REASON,
                renditions: OBJECTS_REASON,
                executions: "StopExecution, DescribeExecution and GetExecutionHistory on executions of the "
                "ingest machine only; the execution name (from the image record) is only known at run time.",
            },
        )

        self.http_api = apigwv2.HttpApi(
            self,
            "HttpApi",
            description=f"imgflow API ({config.stage})",
            create_default_stage=False,
            cors_preflight=apigwv2.CorsPreflightOptions(
                allow_origins=list(config.allowed_origins),
                allow_methods=[
                    apigwv2.CorsHttpMethod.GET,
                    apigwv2.CorsHttpMethod.POST,
                    apigwv2.CorsHttpMethod.PUT,
                    apigwv2.CorsHttpMethod.PATCH,
                    apigwv2.CorsHttpMethod.DELETE,
                    apigwv2.CorsHttpMethod.OPTIONS,
                ],
                allow_headers=["authorization", "content-type"],
                max_age=Duration.hours(1),
            ),
            default_authorizer=authorizers.HttpUserPoolAuthorizer(
                "Cognito", self.user_pool, user_pool_clients=[self.client]
            ),
        )
        self.http_api.add_routes(
            path="/{proxy+}",
            methods=[
                apigwv2.HttpMethod.GET,
                apigwv2.HttpMethod.HEAD,  # every GET route answers HEAD too (api.app._head)
                apigwv2.HttpMethod.POST,
                apigwv2.HttpMethod.PUT,
                apigwv2.HttpMethod.PATCH,
                apigwv2.HttpMethod.DELETE,
            ],
            integration=integrations.HttpLambdaIntegration("Lambda", self.function),
        )
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=config.log_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.stage = apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=self.http_api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=config.api_throttle_rate, burst_limit=config.api_throttle_burst
            ),
            access_log_settings=_AccessLogSettings(
                apigwv2.LogGroupLogDestination(self.access_logs),
                apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FORMAT)),
            ),
        )

    @property
    def url(self) -> str:
        return self.http_api.api_endpoint + "/"
