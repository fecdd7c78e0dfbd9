/** The S3 XML reader: the response shapes the client reads, entities, and malformed input. */
import assert from "node:assert/strict";
import {
  child,
  children,
  childText,
  decodeEntities,
  escapeXml,
  parseXml,
  XmlError,
} from "../../lib/storage/s3/xml.ts";

Deno.test("xml: a ListBucketResult with contents, common prefixes and escaped keys", () => {
  const doc = parseXml(`<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix>a/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
  <Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>
  <Contents><Key>a/ Tom &amp; Jerry &lt;1&gt; &quot;x&quot; &apos;y&apos;.txt </Key>
    <LastModified>2024-05-01T10:00:00.000Z</LastModified>
    <ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag><Size>42</Size>
    <StorageClass>STANDARD</StorageClass></Contents>
  <CommonPrefixes><Prefix>a/sub/</Prefix></CommonPrefixes>
  <NextContinuationToken>tok+/=</NextContinuationToken>
</ListBucketResult>`);
  assert.equal(doc.name, "ListBucketResult");
  assert.equal(childText(doc, "IsTruncated"), "true");
  const contents = children(doc, "Contents");
  assert.equal(contents.length, 1);
  assert.equal(childText(contents[0], "Key"), ` Tom & Jerry <1> "x" 'y'.txt `.replace(/^/, "a/"));
  assert.equal(childText(contents[0], "ETag"), '"9b2cf535f27731c974343645a3985328"');
  assert.equal(childText(contents[0], "Size"), "42");
  assert.deepEqual(children(doc, "CommonPrefixes").map((p) => childText(p, "Prefix")), ["a/sub/"]);
  assert.equal(childText(doc, "NextContinuationToken"), "tok+/=");
  assert.equal(child(doc, "Missing"), undefined);
});

Deno.test("xml: Error, InitiateMultipartUploadResult, CopyObjectResult, ListMultipartUploadsResult", () => {
  const err = parseXml(
    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message></Message>` +
      `<BucketName>b</BucketName><RequestId>tx0001</RequestId><HostId>h</HostId></Error>`,
  );
  assert.equal(childText(err, "Code"), "NoSuchKey");
  assert.equal(childText(err, "Message"), "");
  const init = parseXml(
    `<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>b</Bucket>` +
      `<Key>k</Key><UploadId>2~abc-DEF_ghi</UploadId></InitiateMultipartUploadResult>`,
  );
  assert.equal(childText(init, "UploadId"), "2~abc-DEF_ghi");
  const copy = parseXml(
    `<CopyObjectResult><LastModified>2024-05-01T10:00:00.000Z</LastModified>` +
      `<ETag>"abc"</ETag></CopyObjectResult>`,
  );
  assert.equal(childText(copy, "ETag"), '"abc"');
  const uploads = parseXml(
    `<ListMultipartUploadsResult><Bucket>b</Bucket><IsTruncated>false</IsTruncated>` +
      `<Upload><Key>x</Key><UploadId>1</UploadId><Initiated>2024-05-01T10:00:00.000Z</Initiated></Upload>` +
      `<Upload><Key>y</Key><UploadId>2</UploadId></Upload></ListMultipartUploadsResult>`,
  );
  assert.deepEqual(children(uploads, "Upload").map((u) => childText(u, "UploadId")), ["1", "2"]);
});

Deno.test("xml: self-closing elements, attributes with '>' inside, comments, CDATA, prefixes", () => {
  const doc = parseXml(
    `<!-- lead --><s3:Root a="1>2" b='x'><Empty/><Empty /><!-- c --><T><![CDATA[<raw & kept>]]></T>` +
      `<s3:P>v</s3:P></s3:Root>`,
  );
  assert.equal(doc.name, "Root");
  assert.equal(children(doc, "Empty").length, 2);
  assert.equal(childText(doc, "Empty"), "");
  assert.equal(childText(doc, "T"), "<raw & kept>");
  assert.equal(childText(doc, "P"), "v");
});

Deno.test("xml: numeric references and line ends", () => {
  assert.equal(decodeEntities("&#65;&#x42;&#x1F600;&#x1f600;"), "AB😀😀");
  assert.equal(decodeEntities("a\r\nb\rc&#13;"), "a\nb\nc\r");
  assert.equal(decodeEntities("日本 ü"), "日本 ü");
});

Deno.test("xml: malformed input is refused, not guessed at", () => {
  const bad = [
    "",
    "   ",
    "text",
    "<a>",
    "<a></b>",
    "<a><b></a></b>",
    "<a></a><b></b>",
    "<a>&unknown;</a>",
    "<a>&amp</a>",
    "<a>x & y</a>",
    "<a>&#0;</a>",
    "<a>&#xD800;</a>",
    "<a>&#x110000;</a>",
    "<a><![CDATA[x</a>",
    "<a b='x></a>",
    "<a><!-- x</a>",
    '<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>',
    "<a>" + "<b>".repeat(100) + "</b>".repeat(100) + "</a>",
  ];
  for (const text of bad) assert.throws(() => parseXml(text), XmlError, JSON.stringify(text));
});

Deno.test("xml: escapeXml round-trips through the reader", () => {
  const key = `a&b<c>"d"'e' ü/ x`;
  assert.equal(escapeXml(key), "a&amp;b&lt;c&gt;&quot;d&quot;&apos;e&apos; ü/ x");
  assert.equal(childText(parseXml(`<K><Key>${escapeXml(key)}</Key></K>`), "Key"), key);
});
