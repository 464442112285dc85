//! The `calculate` tool shared by airline and retail: Python arithmetic on `0-9 + - * / ( ) .` and spaces,
//! result `str(round(float(value), 2))`.
//!
//! τ² calls Python's `eval` on the expression after checking its characters, so `**` (power) and `//`
//! (floor division) work, integers are exact and `/` always yields a float. This evaluator implements that
//! grammar with Python's number semantics and error messages.

use crate::pyjson::{float_repr, py_round};
use crate::tool::{Param, ParamType, ToolError, ToolResult};

/// Parameters of `calculate`.
pub static PARAMS: &[Param] = &[Param::required(
    "expression",
    ParamType::String,
    "The mathematical expression to calculate, such as '2 + 2'. The expression can contain numbers, operators (+, -, *, /), parentheses, and spaces.",
)];

/// Description of `calculate`.
pub const DESCRIPTION: &str = "Calculate the result of a mathematical expression.";

/// Evaluates `expression` as τ²'s `calculate` does.
pub fn calculate(expression: &str) -> ToolResult {
    if !expression.chars().all(|c| "0123456789+-*/(). ".contains(c)) {
        return Err(ToolError::new("Invalid characters in expression"));
    }
    let tokens = tokenize(expression)?;
    let mut parser = Parser { tokens, pos: 0 };
    let value = parser.expr()?;
    if parser.pos != parser.tokens.len() {
        return Err(syntax_error());
    }
    let f = match value {
        Num::Int(i) => i as f64,
        Num::Float(f) => f,
    };
    Ok(float_repr(py_round(f, 2)))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(Num),
    Plus,
    Minus,
    Star,
    DoubleStar,
    Slash,
    DoubleSlash,
    LParen,
    RParen,
}

fn syntax_error() -> ToolError {
    ToolError::new("invalid syntax (<string>, line 1)")
}

fn tokenize(s: &str) -> Result<Vec<Tok>, ToolError> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' => i += 1,
            '+' => {
                out.push(Tok::Plus);
                i += 1;
            }
            '-' => {
                out.push(Tok::Minus);
                i += 1;
            }
            '*' if chars.get(i + 1) == Some(&'*') => {
                out.push(Tok::DoubleStar);
                i += 2;
            }
            '*' => {
                out.push(Tok::Star);
                i += 1;
            }
            '/' if chars.get(i + 1) == Some(&'/') => {
                out.push(Tok::DoubleSlash);
                i += 2;
            }
            '/' => {
                out.push(Tok::Slash);
                i += 1;
            }
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            _ => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                out.push(Tok::Num(parse_number(&text)?));
            }
        }
    }
    Ok(out)
}

fn parse_number(text: &str) -> Result<Num, ToolError> {
    if text.matches('.').count() > 1 || text == "." {
        return Err(syntax_error());
    }
    if text.contains('.') {
        return text.parse::<f64>().map(Num::Float).map_err(|_| syntax_error());
    }
    if text.len() > 1 && text.starts_with('0') && text.chars().any(|c| c != '0') {
        return Err(ToolError::new(
            "leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers (<string>, line 1)",
        ));
    }
    match text.parse::<i128>() {
        Ok(i) => Ok(Num::Int(i)),
        Err(_) => text.parse::<f64>().map(Num::Float).map_err(|_| syntax_error()),
    }
}

struct Parser {
    tokens: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos)
    }

    fn expr(&mut self) -> Result<Num, ToolError> {
        let mut left = self.term()?;
        while let Some(op) = self.peek().cloned() {
            match op {
                Tok::Plus | Tok::Minus => {
                    self.pos += 1;
                    let right = self.term()?;
                    left = arith(left, right, op == Tok::Plus);
                }
                _ => break,
            }
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Num, ToolError> {
        let mut left = self.factor()?;
        while let Some(op) = self.peek().cloned() {
            match op {
                Tok::Star => {
                    self.pos += 1;
                    let r = self.factor()?;
                    left = match (left, r) {
                        (Num::Int(a), Num::Int(b)) => {
                            a.checked_mul(b).map(Num::Int).unwrap_or(Num::Float(a as f64 * b as f64))
                        }
                        (a, b) => Num::Float(a.as_f64() * b.as_f64()),
                    };
                }
                Tok::Slash => {
                    self.pos += 1;
                    let r = self.factor()?;
                    left = divide(left, r)?;
                }
                Tok::DoubleSlash => {
                    self.pos += 1;
                    let r = self.factor()?;
                    left = floor_divide(left, r)?;
                }
                _ => break,
            }
        }
        Ok(left)
    }

    fn factor(&mut self) -> Result<Num, ToolError> {
        match self.peek() {
            Some(Tok::Plus) => {
                self.pos += 1;
                self.factor()
            }
            Some(Tok::Minus) => {
                self.pos += 1;
                Ok(match self.factor()? {
                    Num::Int(i) => Num::Int(-i),
                    Num::Float(f) => Num::Float(-f),
                })
            }
            _ => self.power(),
        }
    }

    fn power(&mut self) -> Result<Num, ToolError> {
        let base = self.atom()?;
        if self.peek() == Some(&Tok::DoubleStar) {
            self.pos += 1;
            let exp = self.factor()?;
            return pow(base, exp);
        }
        Ok(base)
    }

    fn atom(&mut self) -> Result<Num, ToolError> {
        match self.tokens.get(self.pos).cloned() {
            Some(Tok::Num(n)) => {
                self.pos += 1;
                Ok(n)
            }
            Some(Tok::LParen) => {
                self.pos += 1;
                let v = self.expr()?;
                if self.peek() != Some(&Tok::RParen) {
                    return Err(syntax_error());
                }
                self.pos += 1;
                Ok(v)
            }
            _ => Err(syntax_error()),
        }
    }
}

fn arith(a: Num, b: Num, add: bool) -> Num {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => {
            let r = if add { x.checked_add(y) } else { x.checked_sub(y) };
            r.map(Num::Int).unwrap_or_else(|| Num::Float(if add { x as f64 + y as f64 } else { x as f64 - y as f64 }))
        }
        (x, y) => Num::Float(if add { x.as_f64() + y.as_f64() } else { x.as_f64() - y.as_f64() }),
    }
}

fn divide(a: Num, b: Num) -> Result<Num, ToolError> {
    if b.as_f64() == 0.0 {
        return Err(ToolError::new(match (a, b) {
            (Num::Int(_), Num::Int(_)) => "division by zero",
            _ => "float division by zero",
        }));
    }
    Ok(Num::Float(match (a, b) {
        (Num::Int(x), Num::Int(y)) => x as f64 / y as f64,
        (x, y) => x.as_f64() / y.as_f64(),
    }))
}

fn floor_divide(a: Num, b: Num) -> Result<Num, ToolError> {
    match (a, b) {
        (Num::Int(_), Num::Int(0)) => Err(ToolError::new("integer division or modulo by zero")),
        (Num::Int(x), Num::Int(y)) => {
            let q = x / y;
            Ok(Num::Int(if x % y != 0 && ((x < 0) != (y < 0)) { q - 1 } else { q }))
        }
        (x, y) => {
            if y.as_f64() == 0.0 {
                return Err(ToolError::new("float floor division by zero"));
            }
            Ok(Num::Float((x.as_f64() / y.as_f64()).floor()))
        }
    }
}

fn pow(base: Num, exp: Num) -> Result<Num, ToolError> {
    match (base, exp) {
        (Num::Int(b), Num::Int(e)) if e >= 0 => {
            let small = u32::try_from(e).ok().and_then(|e| b.checked_pow(e));
            Ok(small.map(Num::Int).unwrap_or(Num::Float((b as f64).powf(e as f64))))
        }
        (b, e) => {
            let (bf, ef) = (b.as_f64(), e.as_f64());
            if bf == 0.0 && ef < 0.0 {
                return Err(ToolError::new("0.0 cannot be raised to a negative power"));
            }
            Ok(Num::Float(bf.powf(ef)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_python_eval_then_round() {
        let ok = [
            ("2 + 2", "4.0"),
            ("(100 - 20) * 3 / 7", "34.29"),
            ("2**10", "1024.0"),
            ("7 // 2", "3.0"),
            ("-7 // 2", "-4.0"),
            ("1/3", "0.33"),
            (".5 + 1.", "1.5"),
            ("-(3)", "-3.0"),
            ("1259.0 * 2 + 30", "2548.0"),
        ];
        for (e, want) in ok {
            assert_eq!(calculate(e).unwrap(), want, "{e}");
        }
        assert_eq!(calculate("2 + x").unwrap_err().0, "Invalid characters in expression");
        assert_eq!(calculate("1/0").unwrap_err().0, "division by zero");
        assert_eq!(calculate("1.0/0").unwrap_err().0, "float division by zero");
        assert_eq!(calculate("(1").unwrap_err().0, "invalid syntax (<string>, line 1)");
    }
}
