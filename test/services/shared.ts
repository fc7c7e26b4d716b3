/**
 * The services a test file needs, started once per `bun test` process: the harness (test/run.ts)
 * passes a running s3proxy through TIERMV_TEST_S3_ENDPOINT; a lone `bun test FILE` starts its own.
 */
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import {
  attachCeph,
  type CephInfo,
  type CephService,
  CephStartError,
  SUITE_CEPH_OPTIONS,
  startCeph,
} from "./ceph.ts";
import { startKafka } from "./kafka.ts";
import { ACCESS_KEY, type S3Service, SECRET_KEY, startS3proxy } from "./s3proxy.ts";

let shared: Promise<S3Service> | null = null;
let sharedKafka: Promise<{ brokers: string[] }> | null = null;

/** The shared Kafka broker (TIERMV_TEST_KAFKA_BROKERS from the harness, or one of our own). */
export function kafkaBrokers(): Promise<{ brokers: string[] }> {
  const brokers = process.env.TIERMV_TEST_KAFKA_BROKERS;
  if (brokers) return Promise.resolve({ brokers: brokers.split(",") });
  const started = sharedKafka ?? startKafka();
  sharedKafka = started;
  return started;
}

export function s3Service(): Promise<S3Service> {
  const endpoint = process.env.TIERMV_TEST_S3_ENDPOINT;
  if (endpoint) {
    const port = Number(new URL(endpoint).port);
    const stop = async () => {};
    return Promise.resolve({ endpoint, port, stop, [Symbol.asyncDispose]: stop });
  }
  shared ??= startS3proxy();
  return shared;
}

/** Environment for any process that talks to the test s3proxy. */
export function s3Env(): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: ACCESS_KEY,
    AWS_SECRET_ACCESS_KEY: SECRET_KEY,
    AWS_REGION: "us-east-1",
  };
}

export function s3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

let bucketCounter = 0;

/** A fresh bucket per test, so tests never see each other's objects. */
export async function newBucket(endpoint: string): Promise<string> {
  const name = `t${Date.now().toString(36)}-${process.pid}-${++bucketCounter}`;
  const client = s3Client(endpoint);
  await client.send(new CreateBucketCommand({ Bucket: name }));
  client.destroy();
  return name;
}

let sharedCeph: Promise<CephService> | null = null;

/**
 * The Ceph cluster: the harness's (TIERMV_TEST_CEPH; its stop does nothing), or one of our own
 * for a lone `bun test FILE`, which the caller stops. When the harness could not start Ceph
 * (TIERMV_TEST_CEPH_ERROR), this rejects with that reason, so every Ceph test fails with it.
 */
export function cephService(): Promise<CephService> {
  const error = process.env.TIERMV_TEST_CEPH_ERROR;
  if (error) return Promise.reject(new CephStartError(`Ceph did not start for this run: ${error}`));
  const info = process.env.TIERMV_TEST_CEPH;
  if (info) return Promise.resolve(attachCeph(JSON.parse(info) as CephInfo));
  sharedCeph ??= startCeph(SUITE_CEPH_OPTIONS).then((own) => ({
    ...own,
    stop: async () => {
      sharedCeph = null;
      await own.stop();
    },
  }));
  return sharedCeph;
}
