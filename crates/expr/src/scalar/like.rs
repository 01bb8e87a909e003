//! SQL `LIKE` / `ILIKE` pattern matching.

/// Matches `text` against a LIKE pattern: `%` is any sequence, `_` any one character, and
/// `escape` (by default backslash) makes the next pattern character literal.
pub fn like(
    text: &str,
    pattern: &str,
    case_insensitive: bool,
    escape: Option<char>,
) -> Result<bool, String> {
    let (text, pattern): (Vec<char>, Vec<char>) = if case_insensitive {
        (
            text.to_lowercase().chars().collect(),
            pattern.to_lowercase().chars().collect(),
        )
    } else {
        (text.chars().collect(), pattern.chars().collect())
    };
    let tokens = tokenize(&pattern, escape)?;
    Ok(matches(&text, &tokens))
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Token {
    Any,
    One,
    Literal(char),
}

fn tokenize(pattern: &[char], escape: Option<char>) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::with_capacity(pattern.len());
    let mut i = 0;
    while i < pattern.len() {
        let c = pattern[i];
        if Some(c) == escape {
            if i + 1 >= pattern.len() {
                return Err("LIKE pattern must not end with escape character".into());
            }
            tokens.push(Token::Literal(pattern[i + 1]));
            i += 2;
            continue;
        }
        tokens.push(match c {
            '%' => Token::Any,
            '_' => Token::One,
            c => Token::Literal(c),
        });
        i += 1;
    }
    Ok(tokens)
}

/// Greedy matching with backtracking to the most recent `%`: linear in practice, and never
/// worse than O(text × pattern).
fn matches(text: &[char], pattern: &[Token]) -> bool {
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() {
            match pattern[p] {
                Token::Any => {
                    star = Some((p, t));
                    p += 1;
                    continue;
                }
                Token::One => {
                    t += 1;
                    p += 1;
                    continue;
                }
                Token::Literal(c) if c == text[t] => {
                    t += 1;
                    p += 1;
                    continue;
                }
                Token::Literal(_) => {}
            }
        }
        match star {
            Some((sp, st)) => {
                p = sp + 1;
                t = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|tok| *tok == Token::Any)
}

#[cfg(test)]
mod tests {
    use super::like;

    #[test]
    fn like_semantics() {
        let l = |t, p| like(t, p, false, Some('\\')).unwrap();
        assert!(l("hello", "h%o"));
        assert!(l("hello", "h_llo"));
        assert!(!l("hello", "h_lo"));
        assert!(l("", "%"));
        assert!(l("a%b", "a\\%b"));
        assert!(!l("axb", "a\\%b"));
        assert!(l("abcabc", "%abc"));
        assert!(like("HeLLo", "hello", true, Some('\\')).unwrap());
        assert!(like("x", "x\\", false, Some('\\')).is_err());
    }
}
