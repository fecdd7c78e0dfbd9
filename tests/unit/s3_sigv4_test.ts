/**
 * SigV4 against published vectors: AWS's signature-v4 test suite (AKIDEXAMPLE, 20150830T123600Z,
 * service "service") and the S3 documentation's header-signing examples (AKIAIOSFODNN7EXAMPLE,
 * examplebucket, 20130524T000000Z).
 */
import assert from "node:assert/strict";
import {
  EMPTY_SHA256,
  type RequestToSign,
  sha256Hex,
  sign,
  type SigningKeyInfo,
  uriEncode,
} from "../../lib/storage/s3/sigv4.ts";

const SUITE: SigningKeyInfo = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  region: "us-east-1",
  service: "service",
};
const SUITE_TIME = new Date("2015-08-30T12:36:00Z");
const SUITE_SCOPE = "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request";
const HOST = { host: "example.amazonaws.com" };

function suiteRequest(partial: Partial<RequestToSign>): RequestToSign {
  return {
    method: "GET",
    path: "/",
    query: [],
    headers: HOST,
    payloadHash: EMPTY_SHA256,
    ...partial,
  };
}

const SUITE_CASES: Array<[string, Partial<RequestToSign>, string, string]> = [
  [
    "get-vanilla",
    {},
    "host;x-amz-date",
    "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
  ],
  [
    "get-unreserved",
    { path: "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" },
    "host;x-amz-date",
    "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f",
  ],
  [
    "get-vanilla-query-order-key-case",
    { query: [["Param2", "value2"], ["Param1", "value1"]] },
    "host;x-amz-date",
    "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
  ],
  [
    "get-vanilla-query-order-value",
    { query: [["Param1", "value2"], ["Param1", "value1"]] },
    "host;x-amz-date",
    "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694",
  ],
  [
    "get-vanilla-utf8-query",
    { query: [["\u1234", "bar"]] },
    "host;x-amz-date",
    "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04",
  ],
  [
    "get-header-value-trim",
    { headers: { ...HOST, "My-Header1": " value1", "My-Header2": '"a   b   c"' } },
    "host;my-header1;my-header2;x-amz-date",
    "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
  ],
  [
    "post-x-www-form-urlencoded",
    {
      method: "POST",
      headers: { ...HOST, "Content-Type": "application/x-www-form-urlencoded" },
      payloadHash: sha256Hex("Param1=value1"),
    },
    "content-type;host;x-amz-date",
    "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
  ],
];

for (const [name, partial, signedHeaders, signature] of SUITE_CASES) {
  Deno.test(`sigv4 test suite: ${name}`, () => {
    const signed = sign(suiteRequest(partial), SUITE, SUITE_TIME);
    assert.equal(signed.signature, signature, signed.canonicalRequest);
    assert.equal(
      signed.headers.authorization,
      `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ` +
        `SignedHeaders=${signedHeaders}, Signature=${signature}`,
    );
    assert.equal(signed.headers["x-amz-date"], "20150830T123600Z");
  });
}

Deno.test("sigv4 test suite: intermediate strings of get-vanilla-query-order-key-case", () => {
  const signed = sign(suiteRequest(SUITE_CASES[2][1]), SUITE, SUITE_TIME);
  assert.equal(
    signed.canonicalRequest,
    [
      "GET",
      "/",
      "Param1=value1&Param2=value2",
      "host:example.amazonaws.com",
      "x-amz-date:20150830T123600Z",
      "",
      "host;x-amz-date",
      EMPTY_SHA256,
    ].join("\n"),
  );
  assert.equal(
    signed.stringToSign,
    `${SUITE_SCOPE}\n816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0`,
  );
});

Deno.test("sigv4 test suite: get-utf8 and get-space canonical paths", () => {
  assert.equal(uriEncode("/\u1234", true), "/%E1%88%B4");
  assert.equal(uriEncode("/example space/", true), "/example%20space/");
  const utf8 = sign(suiteRequest({ path: uriEncode("/\u1234", true) }), SUITE, SUITE_TIME);
  assert.equal(utf8.canonicalRequest.split("\n")[1], "/%E1%88%B4");
  assert.equal(
    utf8.signature,
    "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85",
  );
  const space = sign(suiteRequest({ path: uriEncode("/example space/", true) }), SUITE, SUITE_TIME);
  assert.equal(
    space.signature,
    "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741",
  );
});

const S3_DOCS: SigningKeyInfo = {
  accessKeyId: "AKIAIOSFODNN7EXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  region: "us-east-1",
  service: "s3",
};
const S3_TIME = new Date("2013-05-24T00:00:00Z");
const BUCKET_HOST = "examplebucket.s3.amazonaws.com";

function s3Request(partial: Partial<RequestToSign>, payloadHash = EMPTY_SHA256): RequestToSign {
  return {
    method: "GET",
    path: "/",
    query: [],
    payloadHash,
    ...partial,
    headers: { host: BUCKET_HOST, "x-amz-content-sha256": payloadHash, ...partial.headers },
  };
}

Deno.test("S3 docs example: GET Object with a Range header", () => {
  const signed = sign(
    s3Request({ path: "/test.txt", headers: { Range: "bytes=0-9" } }),
    S3_DOCS,
    S3_TIME,
  );
  assert.equal(
    sha256Hex(signed.canonicalRequest),
    "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
  );
  assert.equal(
    signed.signature,
    "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
  );
  assert.match(
    signed.headers.authorization,
    /SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,/,
  );
});

Deno.test("S3 docs example: PUT Object with a body, a '$' in the key and a Date header", () => {
  const body = "Welcome to Amazon S3.";
  const signed = sign(
    s3Request({
      method: "PUT",
      path: "/" + uriEncode("test$file.text", true),
      headers: {
        Date: "Fri, 24 May 2013 00:00:00 GMT",
        "x-amz-storage-class": "REDUCED_REDUNDANCY",
      },
    }, sha256Hex(body)),
    S3_DOCS,
    S3_TIME,
  );
  assert.equal(signed.canonicalRequest.split("\n")[1], "/test%24file.text");
  assert.equal(
    sha256Hex(signed.canonicalRequest),
    "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d",
  );
  assert.equal(
    signed.signature,
    "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
  );
});

Deno.test("S3 docs example: GET bucket lifecycle (a query name without a value)", () => {
  const signed = sign(s3Request({ query: [["lifecycle", ""]] }), S3_DOCS, S3_TIME);
  assert.equal(signed.canonicalRequest.split("\n")[2], "lifecycle=");
  assert.equal(
    signed.signature,
    "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
  );
});

Deno.test("S3 docs example: GET Bucket (list objects) with its query sorted", () => {
  const signed = sign(
    s3Request({ query: [["prefix", "J"], ["max-keys", "2"]] }),
    S3_DOCS,
    S3_TIME,
  );
  assert.equal(signed.canonicalRequest.split("\n")[2], "max-keys=2&prefix=J");
  assert.equal(
    signed.signature,
    "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
  );
});

Deno.test("uriEncode: UTF-8 bytes, %20 for space, reserved characters, slash kept only when asked", () => {
  assert.equal(uriEncode("a b+c=d&e"), "a%20b%2Bc%3Dd%26e");
  assert.equal(uriEncode("dir/file name.txt", true), "dir/file%20name.txt");
  assert.equal(uriEncode("dir/x"), "dir%2Fx");
  assert.equal(uriEncode("Grüße 日本"), "Gr%C3%BC%C3%9Fe%20%E6%97%A5%E6%9C%AC");
  assert.equal(uriEncode("😀"), "%F0%9F%98%80");
  assert.equal(uriEncode("-._~"), "-._~");
});
