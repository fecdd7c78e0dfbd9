"""Reference timings for the S3 client bench: boto3 PUT and GET of one object, on a Ceph RGW.

Usage: s3_boto3.py ENDPOINT BUCKET KEY SIZE_BYTES  (credentials from AWS_* in the environment)
Prints one JSON line: {"put": seconds, "get": seconds}.
"""
import json
import os
import sys
import time

import boto3
from botocore.config import Config

endpoint, bucket, key, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s3 = boto3.client(
    "s3",
    endpoint_url=endpoint,
    region_name="us-east-1",
    config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
)
data = os.urandom(size)
t = time.perf_counter()
s3.put_object(Bucket=bucket, Key=key, Body=data)
put = time.perf_counter() - t
t = time.perf_counter()
body = s3.get_object(Bucket=bucket, Key=key)["Body"]
got = 0
while chunk := body.read(1 << 20):
    got += len(chunk)
get = time.perf_counter() - t
assert got == size, (got, size)
print(json.dumps({"put": put, "get": get}))
