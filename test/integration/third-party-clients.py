"""Drives the local cloud's endpoint with AWS clients this project did not write (boto3/botocore).

Run by test/integration/third-party-clients.test.ts with ENDPOINT, TABLE_NAME, FILES_BUCKET, ROLE_ARN and the
local credentials in the environment. Prints one JSON object: what each client saw; the test asserts on it.
"""

import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import boto3
import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config

ENDPOINT = os.environ["ENDPOINT"]
REGION = os.environ.get("AWS_REGION", "us-east-1")
RUN = uuid.uuid4().hex[:8]
seen = {}


def client(service, **extra):
    return boto3.client(service, endpoint_url=ENDPOINT, region_name=REGION, **extra)


# ---- DynamoDB: put, get, query ----
ddb = client("dynamodb")
table = os.environ["TABLE_NAME"]
pk = f"THIRDPARTY#{RUN}"
ddb.put_item(TableName=table, Item={"PK": {"S": pk}, "SK": {"S": "1"}, "v": {"S": "one"}})
ddb.put_item(TableName=table, Item={"PK": {"S": pk}, "SK": {"S": "2"}, "v": {"S": "two"}})
seen["dynamodbGet"] = ddb.get_item(TableName=table, Key={"PK": {"S": pk}, "SK": {"S": "1"}})["Item"]["v"]["S"]
queried = ddb.query(TableName=table, KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": pk}})
seen["dynamodbQuery"] = [item["v"]["S"] for item in queried["Items"]]

# ---- SQS (JSON protocol, as botocore speaks it now): create with a redrive, send, receive, redrive, delete ----
sqs = client("sqs")
dlq_url = sqs.create_queue(QueueName=f"tp-dlq-{RUN}")["QueueUrl"]
dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
queue_url = sqs.create_queue(
    QueueName=f"tp-main-{RUN}",
    Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})},
)["QueueUrl"]
sqs.send_message(QueueUrl=queue_url, MessageBody="hello", MessageAttributes={"kind": {"DataType": "String", "StringValue": "greeting"}})
first = sqs.receive_message(QueueUrl=queue_url, MessageAttributeNames=["All"], VisibilityTimeout=0, WaitTimeSeconds=1)["Messages"]
seen["sqsReceived"] = {"body": first[0]["Body"], "kind": first[0]["MessageAttributes"]["kind"]["StringValue"]}
# Received once and not deleted: the next receive moves it to the dead-letter queue (maxReceiveCount 1).
again = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0).get("Messages", [])
dead = sqs.receive_message(QueueUrl=dlq_url, AttributeNames=["All"], WaitTimeSeconds=1)["Messages"]
seen["sqsRedrive"] = {"mainAfter": len(again), "dlqBody": dead[0]["Body"], "source": dead[0]["Attributes"].get("DeadLetterQueueSourceArn")}
sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=dead[0]["ReceiptHandle"])
left = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
seen["sqsDeleted"] = left["Attributes"]
try:
    sqs.get_queue_url(QueueName=f"missing-{RUN}")
    seen["sqsMissingQueue"] = "no error"
except sqs.exceptions.QueueDoesNotExist as error:
    seen["sqsMissingQueue"] = error.response["Error"]["Code"]


# ---- SQS query protocol (form-encoded Action=..., XML): what older SDKs and Debian's AWS CLI v2 send ----
credentials = botocore.session.get_session().get_credentials()
NS = {"q": "http://queue.amazonaws.com/doc/2012-11-05/"}


def query(params):
    request = AWSRequest(
        method="POST",
        url=ENDPOINT + "/",
        data=urllib.parse.urlencode({**params, "Version": "2012-11-05"}),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(credentials, "sqs", REGION).add_auth(request)
    prepared = request.prepare()
    http = urllib.request.Request(prepared.url, data=prepared.body.encode() if isinstance(prepared.body, str) else prepared.body, headers=dict(prepared.headers), method="POST")
    try:
        with urllib.request.urlopen(http) as answer:
            return answer.status, answer.headers.get("content-type"), ET.fromstring(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("content-type"), ET.fromstring(error.read())


_, content_type, created = query(
    {
        "Action": "CreateQueue",
        "QueueName": f"tp-query-{RUN}",
        "Attribute.1.Name": "RedrivePolicy",
        "Attribute.1.Value": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}),
        "Attribute.2.Name": "VisibilityTimeout",
        "Attribute.2.Value": "5",
    }
)
query_url = created.find("q:CreateQueueResult/q:QueueUrl", NS).text
_, _, listed = query({"Action": "ListQueues", "QueueNamePrefix": f"tp-query-{RUN}"})
_, _, sent = query(
    {
        "Action": "SendMessage",
        "QueueUrl": query_url,
        "MessageBody": "form & <xml>",
        "MessageAttribute.1.Name": "kind",
        "MessageAttribute.1.Value.DataType": "String",
        "MessageAttribute.1.Value.StringValue": "query",
    }
)
_, _, received = query(
    {"Action": "ReceiveMessage", "QueueUrl": query_url, "AttributeName.1": "All", "MessageAttributeName.1": "All", "WaitTimeSeconds": "1"}
)
message = received.find("q:ReceiveMessageResult/q:Message", NS)
attributes = {a.find("q:Name", NS).text: a.find("q:Value", NS).text for a in message.findall("q:Attribute", NS)}
_, _, deleted = query({"Action": "DeleteMessage", "QueueUrl": query_url, "ReceiptHandle": message.find("q:ReceiptHandle", NS).text})
_, _, queue_attributes = query({"Action": "GetQueueAttributes", "QueueUrl": query_url, "AttributeName.1": "All"})
error_status, error_type, missing = query({"Action": "GetQueueUrl", "QueueName": f"missing-{RUN}"})
seen["sqsQuery"] = {
    "contentType": content_type,
    "queueUrl": query_url,
    "listed": [e.text for e in listed.findall("q:ListQueuesResult/q:QueueUrl", NS)],
    "md5": sent.find("q:SendMessageResult/q:MD5OfMessageBody", NS).text,
    "body": message.find("q:Body", NS).text,
    "receiveCount": attributes.get("ApproximateReceiveCount"),
    "messageAttribute": message.find("q:MessageAttribute/q:Value/q:StringValue", NS).text,
    "deleted": deleted.tag,
    "visibilityTimeout": {
        a.find("q:Name", NS).text: a.find("q:Value", NS).text for a in queue_attributes.findall("q:GetQueueAttributesResult/q:Attribute", NS)
    }.get("VisibilityTimeout"),
    "error": {"status": error_status, "contentType": error_type, "code": missing.find("q:Error/q:Code", NS).text},
}

# ---- Scheduler: a one-time schedule into SQS that deletes itself once it fired ----
scheduler = client("scheduler")
target_url = sqs.create_queue(QueueName=f"tp-timer-{RUN}")["QueueUrl"]
target_arn = sqs.get_queue_attributes(QueueUrl=target_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
at = (datetime.now(timezone.utc) + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")
name = f"tp-once-{RUN}"
scheduler.create_schedule(
    Name=name,
    ScheduleExpression=f"at({at})",
    FlexibleTimeWindow={"Mode": "OFF"},
    ActionAfterCompletion="DELETE",
    Target={"Arn": target_arn, "RoleArn": os.environ["ROLE_ARN"], "Input": json.dumps({"fired": name})},
)
fired = []
deadline = time.time() + 15
while not fired and time.time() < deadline:
    fired = sqs.receive_message(QueueUrl=target_url, WaitTimeSeconds=2).get("Messages", [])
gone = None
while time.time() < deadline:
    try:
        scheduler.get_schedule(Name=name)
        time.sleep(0.2)
    except scheduler.exceptions.ResourceNotFoundException:
        gone = True
        break
seen["scheduler"] = {"fired": [json.loads(m["Body"]) for m in fired], "deletedAfterCompletion": gone}

# ---- S3: presigned PUT and GET ----
s3 = client("s3", config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
bucket = os.environ["FILES_BUCKET"]
key = f"third-party/{RUN}.txt"
put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key, "ContentType": "text/plain"}, ExpiresIn=60)
with urllib.request.urlopen(urllib.request.Request(put_url, data=b"presigned bytes", method="PUT", headers={"Content-Type": "text/plain"})) as answer:
    put_status = answer.status
get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=60)
with urllib.request.urlopen(get_url) as answer:
    seen["s3"] = {"putStatus": put_status, "got": answer.read().decode()}

json.dump(seen, sys.stdout)
