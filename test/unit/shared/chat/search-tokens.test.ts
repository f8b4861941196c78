import { indexTokens, MAX_TOKENS_PER_MESSAGE, matchesQuery, pickLookupToken, tokenize } from '../../../../shared/chat/search-tokens';

describe('tokenize: lower-cased distinct words of letters and digits', () => {
  test('punctuation splits, case folds, one-letter words and repeats are dropped', () => {
    expect(tokenize('Release v2: the RELEASE is a go!')).toEqual(['release', 'v2', 'the', 'is', 'go']);
  });

  test('letters of any script count', () => {
    expect(tokenize('Café größe 東京')).toEqual(['café', 'größe', '東京']);
  });
});

describe('indexTokens: a message writes at most MAX_TOKENS_PER_MESSAGE index entries', () => {
  test('the first distinct tokens are kept', () => {
    const text = Array.from({ length: MAX_TOKENS_PER_MESSAGE + 10 }, (_, i) => `word${i}`).join(' ');
    expect(indexTokens(text)).toHaveLength(MAX_TOKENS_PER_MESSAGE);
    expect(indexTokens(text)[0]).toBe('word0');
  });
});

describe('pickLookupToken: the longest query token stands in for the rarest', () => {
  test('the longest wins, the first on a tie, none for an empty query', () => {
    expect(pickLookupToken(['go', 'release', 'tonight'])).toBe('release');
    expect(pickLookupToken([])).toBeUndefined();
  });
});

describe('matchesQuery: a message matches when it holds every query token', () => {
  test('all tokens, in any order and case', () => {
    expect(matchesQuery('Tonight: RELEASE party', ['release', 'tonight'])).toBe(true);
    expect(matchesQuery('release notes', ['release', 'tonight'])).toBe(false);
  });
});
