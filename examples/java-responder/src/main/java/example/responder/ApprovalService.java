package example.responder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import temporal_kafka_bridge.ActivityCancelNotice;
import temporal_kafka_bridge.ActivityTaskRequest;
import temporal_kafka_bridge.ActivityTaskResponse;
import temporal_kafka_bridge.CancelReason;
import temporal_kafka_bridge.Canceled;
import temporal_kafka_bridge.Completed;
import temporal_kafka_bridge.Failed;
import temporal_kafka_bridge.Heartbeat;
import temporal_kafka_bridge.Payload;

/**
 * The expense approval service of examples/expense-approval, in Java, with classes generated from schemas/*.avsc.
 *
 * <p>Reads ActivityTaskRequest and ActivityCancelNotice records from the request topic and answers on each request's
 * replyTo topic: up to $1,000.00 Completed (a json/plain result), up to $5,000.00 Failed (type ExpenseRejected,
 * non-retryable, one detail), above that a Heartbeat with two details every HEARTBEAT_INTERVAL_MS until a cancel
 * notice, then Canceled (reason CANCEL_REQUESTED) or nothing (PAUSED, RESET). Replies carry the request's key; a
 * request's offset is committed only after its final reply was acknowledged.
 *
 * <p>Configuration from the environment: KAFKA_BROKERS, EXPENSE_REQUEST_TOPIC, EXPENSE_RESPONDER_GROUP,
 * HEARTBEAT_INTERVAL_MS, TKB_SCHEMAS_DIR (for older contract versions; default ../../schemas).
 */
public final class ApprovalService implements ConsumerRebalanceListener {
  static final long AUTO_APPROVE_LIMIT_CENTS = 100_000;
  static final long ESCALATION_LIMIT_CENTS = 500_000;
  static final String READY_LINE = "expense-approval: ready";
  private static final ObjectMapper JSON = new ObjectMapper();

  /** An escalated expense waiting for the CFO. */
  private static final class Escalation {
    final ActivityTaskRequest request;
    final byte[] key;
    final TopicPartition partition;
    final long offset;
    int heartbeats;

    Escalation(ActivityTaskRequest request, byte[] key, TopicPartition partition, long offset) {
      this.request = request;
      this.key = key;
      this.partition = partition;
      this.offset = offset;
    }
  }

  private final KafkaConsumer<byte[], byte[]> consumer;
  private final KafkaProducer<byte[], byte[]> producer;
  private final String requestTopic;
  private final Duration heartbeatInterval;
  private final long requestFingerprint;
  private final long noticeFingerprint;
  // Offsets read but not finished, and the offset after the highest read, per partition: commit only below both.
  private final Map<TopicPartition, TreeSet<Long>> openOffsets = new HashMap<>();
  private final Map<TopicPartition, Long> nextOffsets = new HashMap<>();
  // By task token (the bytes as received, never parsed).
  private final Map<ByteBuffer, Escalation> escalated = new LinkedHashMap<>();
  private final Map<Long, Boolean> writerIsRequest = new HashMap<>();

  ApprovalService(String brokers, String requestTopic, String groupId, Duration heartbeatInterval, Path schemasDir)
      throws IOException {
    this.requestTopic = requestTopic;
    this.heartbeatInterval = heartbeatInterval;
    this.requestFingerprint = fingerprint(ActivityTaskRequest.getClassSchema());
    this.noticeFingerprint = fingerprint(ActivityCancelNotice.getClassSchema());
    writerIsRequest.put(requestFingerprint, true);
    writerIsRequest.put(noticeFingerprint, false);
    addFrozenWriterSchemas(schemasDir);

    Properties consumerProps = new Properties();
    consumerProps.put("bootstrap.servers", brokers);
    consumerProps.put("group.id", groupId);
    consumerProps.put("enable.auto.commit", "false");
    consumerProps.put("auto.offset.reset", "earliest");
    consumerProps.put("client.id", "expense-approval-java");
    consumer = new KafkaConsumer<>(consumerProps, new ByteArrayDeserializer(), new ByteArrayDeserializer());

    Properties producerProps = new Properties();
    producerProps.put("bootstrap.servers", brokers);
    producerProps.put("enable.idempotence", "true");
    producerProps.put("acks", "all");
    producerProps.put("linger.ms", "2");
    producerProps.put("client.id", "expense-approval-java");
    producer = new KafkaProducer<>(producerProps, new ByteArraySerializer(), new ByteArraySerializer());
  }

  /** The 8 bytes after C3 01, as Avro's single-object encoding writes them: CRC-64-AVRO, little-endian. */
  static long fingerprint(Schema schema) {
    return SchemaNormalization.parsingFingerprint64(schema);
  }

  /**
   * Teaches the generated classes' decoders the schemas of every released contract version, so a request written
   * by an activity on an older (or newer, once released) contract still decodes: Avro resolves it by fingerprint.
   */
  private void addFrozenWriterSchemas(Path schemasDir) throws IOException {
    Path vectors = schemasDir.resolve("vectors");
    if (!Files.isDirectory(vectors)) return;
    try (Stream<Path> files = Files.walk(vectors, 2)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".avsc")).toList()) {
        Schema schema = new Schema.Parser().parse(file.toFile());
        if (schema.getFullName().equals(ActivityTaskRequest.getClassSchema().getFullName())) {
          ActivityTaskRequest.getDecoder().addSchema(schema);
          writerIsRequest.put(fingerprint(schema), true);
        } else if (schema.getFullName().equals(ActivityCancelNotice.getClassSchema().getFullName())) {
          ActivityCancelNotice.getDecoder().addSchema(schema);
          writerIsRequest.put(fingerprint(schema), false);
        }
      }
    }
  }

  void run() {
    consumer.subscribe(List.of(requestTopic), this);
    log("consuming " + requestTopic);
    log(READY_LINE);
    Instant nextHeartbeat = Instant.EPOCH;
    try {
      for (;;) {
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) handle(record);
        if (!escalated.isEmpty() && Instant.now().isAfter(nextHeartbeat)) {
          sendHeartbeats();
          nextHeartbeat = Instant.now().plus(heartbeatInterval);
        }
      }
    } catch (WakeupException stopping) {
      log("stopping");
    } finally {
      producer.close(Duration.ofSeconds(10));
      consumer.close(Duration.ofSeconds(10));
      log("stopped");
    }
  }

  void stop() {
    consumer.wakeup();
  }

  private void handle(ConsumerRecord<byte[], byte[]> record) {
    TopicPartition partition = new TopicPartition(record.topic(), record.partition());
    openOffsets.computeIfAbsent(partition, p -> new TreeSet<>()).add(record.offset());
    nextOffsets.merge(partition, record.offset() + 1, Math::max);
    boolean finished = true;
    byte[] value = record.value();
    Boolean isRequest = value != null && value.length >= 10
        ? writerIsRequest.get(ByteBuffer.wrap(value, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong())
        : null;
    try {
      if (Boolean.TRUE.equals(isRequest)) {
        ActivityTaskRequest request = ActivityTaskRequest.fromByteBuffer(ByteBuffer.wrap(value));
        if ("approveExpense".equals(request.getActivityType())) {
          finished = decide(record.key(), partition, record.offset(), request);
        }
      } else if (Boolean.FALSE.equals(isRequest)) {
        cancel(ActivityCancelNotice.fromByteBuffer(ByteBuffer.wrap(value)));
      } else {
        log("skipping " + partition + "@" + record.offset() + ": not a record of the contract this service knows");
      }
    } catch (IOException e) {
      log("skipping " + partition + "@" + record.offset() + ": " + e);
    }
    if (finished) finish(partition, record.offset());
  }

  /** Replies to a request; returns whether it is finished (false while it waits for the CFO). */
  private boolean decide(byte[] key, TopicPartition partition, long offset, ActivityTaskRequest request)
      throws IOException {
    JsonNode expense = JSON.readTree(payloadJson(request.getInput()));
    String id = expense.get("id").asText();
    long amount = expense.get("amountCents").asLong();
    String where = id + " " + dollars(amount) + " (workflow " + request.getWorkflowId() + ", attempt "
        + request.getAttempt() + ")";
    if (amount <= AUTO_APPROVE_LIMIT_CENTS) {
      log(where + ": approved");
      Map<String, Object> approval = new LinkedHashMap<>();
      approval.put("approved", true);
      approval.put("reviewer", "java");
      approval.put("decidedAt", Instant.now().toString());
      reply(key, request, Completed.newBuilder().setResult(jsonPayload(approval)).build());
      return true;
    }
    if (amount <= ESCALATION_LIMIT_CENTS) {
      String reason = dollars(amount) + " is over the " + dollars(AUTO_APPROVE_LIMIT_CENTS) + " approval limit";
      log(where + ": rejected: " + reason);
      Map<String, Object> detail = new LinkedHashMap<>();
      detail.put("expenseId", id);
      detail.put("limitCents", AUTO_APPROVE_LIMIT_CENTS);
      reply(key, request, Failed.newBuilder()
          .setMessage(reason)
          .setType("ExpenseRejected")
          .setNonRetryable(true)
          .setDetails(List.of(jsonPayload(detail)))
          .build());
      return true;
    }
    log(where + ": escalated to the CFO");
    escalated.put(request.getTaskToken().duplicate(), new Escalation(request, key, partition, offset));
    return false;
  }

  private void sendHeartbeats() {
    for (Escalation task : escalated.values()) {
      task.heartbeats++;
      Map<String, Object> progress = new LinkedHashMap<>();
      progress.put("reviewing", true);
      progress.put("heartbeats", task.heartbeats);
      try {
        reply(task.key, task.request, Heartbeat.newBuilder()
            .setHeartbeatDetails(List.of(jsonPayload(progress), jsonPayload("waiting for the CFO")))
            .build());
      } catch (RuntimeException | IOException e) { // a lost heartbeat only delays a cancellation until the next one
        log("heartbeat failed: " + e);
      }
    }
  }

  private void cancel(ActivityCancelNotice notice) throws IOException {
    Escalation task = escalated.remove(notice.getTaskToken());
    if (task == null) return; // not an attempt this instance holds: finished already, or another instance's
    if (notice.getReason() == CancelReason.CANCEL_REQUESTED) {
      log(task.request.getWorkflowId() + ": cancel requested, replying Canceled");
      reply(task.key, task.request, Canceled.newBuilder()
          .setCancellationDetails(List.of(jsonPayload(Map.of("stoppedAfterHeartbeats", task.heartbeats))))
          .build());
    } else {
      log(task.request.getWorkflowId() + ": " + notice.getReason() + ", stopping without a reply");
    }
    finish(task.partition, task.offset);
  }

  /**
   * Produces the reply with the request's key and blocks until the broker acknowledged it. The outcome is one of
   * the generated branch classes, so Avro writes exactly that branch of the union.
   */
  private void reply(byte[] key, ActivityTaskRequest request, Object outcome) throws IOException {
    ActivityTaskResponse response = ActivityTaskResponse.newBuilder()
        .setRequestId(request.getRequestId())
        .setTaskToken(request.getTaskToken().duplicate()) // echoed byte for byte
        .setActivityRef(null)
        .setOutcome(outcome)
        .setRespondedTime(Instant.now())
        .build();
    ByteBuffer encoded = response.toByteBuffer();
    byte[] value = new byte[encoded.remaining()];
    encoded.get(value);
    ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(request.getReplyTo(), key, value);
    record.headers().add("tkb-record", "ActivityTaskResponse".getBytes(StandardCharsets.UTF_8));
    record.headers().add("tkb-encoding", "avro-single-object".getBytes(StandardCharsets.UTF_8));
    try {
      producer.send(record).get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while waiting for the reply's acknowledgement", e);
    } catch (ExecutionException e) {
      throw new IOException("the reply was not acknowledged", e.getCause());
    }
  }

  private void finish(TopicPartition partition, long offset) {
    TreeSet<Long> open = openOffsets.get(partition);
    if (open == null) return; // the partition was revoked meanwhile
    open.remove(offset);
    long commitAt = open.isEmpty() ? nextOffsets.get(partition) : open.first();
    consumer.commitSync(Map.of(partition, new OffsetAndMetadata(commitAt)));
  }

  @Override
  public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
    // Whoever gets these partitions next reads their unfinished requests again: nothing of them was committed.
    for (TopicPartition partition : partitions) {
      openOffsets.remove(partition);
      nextOffsets.remove(partition);
    }
    escalated.values().removeIf(task -> partitions.contains(task.partition));
  }

  @Override
  public void onPartitionsAssigned(Collection<TopicPartition> partitions) {}

  /** What Temporal's default data converter makes of a value: metadata encoding json/plain, UTF-8 JSON data. */
  static Payload jsonPayload(Object value) throws IOException {
    Map<String, ByteBuffer> metadata = new HashMap<>();
    metadata.put("encoding", ByteBuffer.wrap("json/plain".getBytes(StandardCharsets.UTF_8)));
    return Payload.newBuilder().setMetadata(metadata).setData(ByteBuffer.wrap(JSON.writeValueAsBytes(value))).build();
  }

  static byte[] payloadJson(Payload payload) throws IOException {
    ByteBuffer encoding = payload.getMetadata().get("encoding");
    String name = encoding == null ? "" : StandardCharsets.UTF_8.decode(encoding.duplicate()).toString();
    if (!name.equals("json/plain")) throw new IOException("payload encoding '" + name + "' is not one this service reads");
    ByteBuffer data = payload.getData().duplicate();
    byte[] bytes = new byte[data.remaining()];
    data.get(bytes);
    return bytes;
  }

  static String dollars(long cents) {
    return String.format("$%,d.%02d", cents / 100, cents % 100);
  }

  static void log(String message) {
    System.out.println(Instant.now() + " [java-responder] " + message);
    System.out.flush();
  }

  private static String env(String name, String fallback) {
    String value = System.getenv(name);
    return value == null || value.isBlank() ? fallback : value;
  }

  public static void main(String[] args) throws IOException, InterruptedException {
    ApprovalService service = new ApprovalService(
        env("KAFKA_BROKERS", "localhost:9092"),
        env("EXPENSE_REQUEST_TOPIC", "expense-approval.requests"),
        env("EXPENSE_RESPONDER_GROUP", "expense-approval-service"),
        Duration.ofMillis(Long.parseLong(env("HEARTBEAT_INTERVAL_MS", "1000"))),
        Paths.get(env("TKB_SCHEMAS_DIR", "../../schemas")));
    Thread main = Thread.currentThread();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      service.stop();
      try {
        main.join(15_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }));
    service.run();
  }
}
