"""The imgflow stack: composes one construct per concern and exports what a client needs."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from constructs import Construct

from infra.config import StageConfig
from infra.constructs.api import Api
from infra.constructs.functions import Functions, _pascal
from infra.constructs.monitoring import Monitoring
from infra.constructs.reprocessing import Reprocessing
from infra.constructs.storage import Storage
from infra.constructs.web import WebHosting
from infra.constructs.workflow import IngestWorkflow


class ImgflowStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        Tags.of(self).add("project", "imgflow")
        Tags.of(self).add("stage", config.stage)

        self.storage = Storage(self, "Storage", config=config)
        self.functions = Functions(self, "Functions", config=config, storage=self.storage)
        self.ingest = IngestWorkflow(
            self, "Ingest", config=config, storage=self.storage, tasks=self.functions.tasks
        )
        self.reprocessing = Reprocessing(
            self,
            "Reprocessing",
            config=config,
            storage=self.storage,
            functions=self.functions,
            ingest=self.ingest.state_machine,
            ingest_name=self.ingest.name,
            upload_dlq=self.ingest.dead_letter_queue,
        )
        self.web = WebHosting(self, "Web", config=config, storage=self.storage)
        self.api = Api(
            self,
            "Api",
            config=config,
            storage=self.storage,
            functions=self.functions,
            ingest=self.ingest.state_machine,
            ingest_name=self.ingest.name,
            web_url=self.web.url,
        )
        self.web.publish(
            api_url=self.api.url,
            user_pool=self.api.user_pool,
            client=self.api.client,
            max_bytes=config.max_bytes,
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            state_machines={
                "Ingest": self.ingest.state_machine,
                "Reprocess": self.reprocessing.state_machine,
            },
            functions={
                **{_pascal(name): fn for name, fn in self.functions.tasks.items()},
                "Api": self.api.function,
            },
            dead_letter_queue=self.ingest.dead_letter_queue,
            http_api=self.api.http_api,
        )

        outputs = {
            "WebUrl": self.web.url,
            "SignInUrl": self.web.sign_in.base_url(),
            "ApiUrl": self.api.url,
            "UploadsBucketName": self.storage.uploads.bucket_name,
            "RenditionsBucketName": self.storage.renditions.bucket_name,
            "TableName": self.storage.table.table_name,
            "IngestStateMachineArn": self.ingest.state_machine.state_machine_arn,
            "ReprocessStateMachineArn": self.reprocessing.state_machine.state_machine_arn,
            "UserPoolId": self.api.user_pool.user_pool_id,
            "UserPoolClientId": self.api.client.user_pool_client_id,
            "UploadEventsDlqUrl": self.ingest.dead_letter_queue.queue_url,
            "AlarmTopicArn": self.monitoring.topic.topic_arn,
        }
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)
