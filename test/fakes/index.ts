// Fake upstream providers for end-to-end tests; import from here rather than the individual files.
export type {
  FakeStep, FakeUpstream, RecordedRequest, ReplayOptions, CommonFakeOptions, StatusStep, CutAfterStep, StallStep,
  ResetStep, OverloadedInStreamStep, ToolStep, DelayStep,
} from './common.js';
export { countWords } from './common.js';
export type { AnthropicFakeOptions, AnthropicUsage } from './anthropic-upstream.js';
export {
  startFakeAnthropic, fixtureReplayAnthropic, anthropicBlocks, anthropicError, ANTHROPIC_FAKE_KEY, ANTHROPIC_REPLY_TEXT,
} from './anthropic-upstream.js';
export type { OpenAIFakeOptions, OpenAIUsage } from './openai-upstream.js';
export {
  startFakeOpenAI, fixtureReplayOpenAI, openaiMessageText, openaiError, OPENAI_FAKE_KEY, OPENAI_REPLY_TEXT,
  OPENAI_CACHE_MIN_WORDS,
} from './openai-upstream.js';
export type { AwsTestCredentials, BedrockFakeOptions, BedrockFakeUpstream, BedrockStep, InStreamExceptionStep } from './bedrock-upstream.js';
export { startFakeBedrock, BEDROCK_FAKE_CREDENTIALS, BEDROCK_FAKE_REGION, BEDROCK_REPLY_TEXT } from './bedrock-upstream.js';
export type {
  OpenAIResponsesFakeOptions, ResponsesFakeUpstream, ResponsesStep, ResponsesErrorInStreamStep, ResponsesUsage,
} from './openai-responses-upstream.js';
export {
  startFakeOpenAIResponses, responsesItemText, OPENAI_RESPONSES_REPLY_TEXT, RESPONSES_REASONING_SUMMARY,
  RESPONSES_COMPACTION_SUMMARY,
} from './openai-responses-upstream.js';
export type { EmbeddingsFake, EmbeddingsFakeOptions, CohereEmbeddingType } from './embeddings-upstream.js';
export {
  startFakeEmbeddings, fakeEmbedding, embeddingText, embeddingTokens, float32Base64, cohereEmbeddingAs, titanBinary,
  EMBEDDING_DEFAULT_DIMS, EMBEDDING_MAX_DIMS, EMBEDDINGS_FAKE_KEYS, EMBEDDINGS_AZURE_DEPLOYMENTS,
} from './embeddings-upstream.js';
