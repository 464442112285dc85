//! A tiny document model the report is built in once and rendered twice (Markdown and HTML), so both always
//! show the same content.

/// One block of the report.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A heading of level 1–3.
    Heading(u8, String),
    /// A paragraph; text between backticks is code.
    Paragraph(String),
    /// A bulleted list; text between backticks is code.
    Bullets(Vec<String>),
    /// A table.
    Table(Table),
    /// A plot: its PNG path relative to the report and its SVG document for inlining.
    Plot {
        /// Caption / alt text.
        title: String,
        /// PNG path relative to the report directory.
        png: String,
        /// The SVG document.
        svg: String,
    },
}

/// A table whose first column is a label and the others are values.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Column titles.
    pub header: Vec<String>,
    /// Cells, one row per entry, each as long as the header.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// Whether column `i` holds numbers only (right-aligned): figures, `n/a`, `—`, sizes and times.
    pub fn numeric(&self, i: usize) -> bool {
        !self.rows.is_empty()
            && self.rows.iter().all(|row| {
                row.get(i).is_some_and(|cell| {
                    cell == "n/a" || cell.starts_with('—') || cell.starts_with(|c: char| c.is_ascii_digit() || c == '-')
                })
            })
    }
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Document {
    /// Blocks in reading order.
    pub blocks: Vec<Block>,
}

impl Document {
    /// Appends a heading.
    pub fn heading(&mut self, level: u8, text: impl Into<String>) {
        self.blocks.push(Block::Heading(level, text.into()));
    }

    /// Appends a paragraph.
    pub fn paragraph(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Paragraph(text.into()));
    }

    /// Appends a bulleted list.
    pub fn bullets(&mut self, items: Vec<String>) {
        self.blocks.push(Block::Bullets(items));
    }

    /// Appends a table.
    pub fn table(&mut self, header: Vec<String>, rows: Vec<Vec<String>>) {
        self.blocks.push(Block::Table(Table { header, rows }));
    }
}

/// Renders the document as GitHub-flavoured Markdown.
pub fn to_markdown(doc: &Document) -> String {
    let mut out = String::new();
    for block in &doc.blocks {
        match block {
            Block::Heading(level, text) => {
                out.push_str(&"#".repeat(usize::from((*level).clamp(1, 6))));
                out.push(' ');
                out.push_str(text);
                out.push('\n');
            }
            Block::Paragraph(text) => {
                out.push_str(text);
                out.push('\n');
            }
            Block::Bullets(items) => {
                for item in items {
                    out.push_str("- ");
                    out.push_str(item);
                    out.push('\n');
                }
            }
            Block::Table(table) => {
                let row = |cells: &[String]| {
                    let escaped: Vec<String> = cells.iter().map(|c| c.replace('|', "\\|")).collect();
                    format!("| {} |\n", escaped.join(" | "))
                };
                out.push_str(&row(&table.header));
                let rule: Vec<String> = (0..table.header.len())
                    .map(|i| if table.numeric(i) { "---:".to_owned() } else { "---".to_owned() })
                    .collect();
                out.push_str(&format!("|{}|\n", rule.join("|")));
                for cells in &table.rows {
                    out.push_str(&row(cells));
                }
            }
            Block::Plot { title, png, .. } => {
                out.push_str(&format!("![{title}]({png})\n"));
            }
        }
        out.push('\n');
    }
    out
}

/// Renders the document as one self-contained HTML page (inline CSS, plots as inline SVG).
pub fn to_html(doc: &Document, title: &str) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(&format!("<title>{}</title>\n", escape(title)));
    out.push_str(STYLE);
    out.push_str("</head>\n<body>\n");
    for block in &doc.blocks {
        match block {
            Block::Heading(level, text) => {
                let level = (*level).clamp(1, 6);
                out.push_str(&format!("<h{level}>{}</h{level}>\n", inline(text)));
            }
            Block::Paragraph(text) => out.push_str(&format!("<p>{}</p>\n", inline(text))),
            Block::Bullets(items) => {
                out.push_str("<ul>\n");
                for item in items {
                    out.push_str(&format!("<li>{}</li>\n", inline(item)));
                }
                out.push_str("</ul>\n");
            }
            Block::Table(table) => {
                out.push_str("<table>\n<thead><tr>");
                for cell in &table.header {
                    out.push_str(&format!("<th>{}</th>", inline(cell)));
                }
                out.push_str("</tr></thead>\n<tbody>\n");
                for cells in &table.rows {
                    out.push_str("<tr>");
                    for (i, cell) in cells.iter().enumerate() {
                        let class = if table.numeric(i) { " class=\"num\"" } else { "" };
                        out.push_str(&format!("<td{class}>{}</td>", inline(cell)));
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</tbody>\n</table>\n");
            }
            Block::Plot { title, svg, .. } => {
                out.push_str(&format!(
                    "<figure>\n{}\n<figcaption>{}</figcaption>\n</figure>\n",
                    strip_xml_prolog(svg),
                    escape(title)
                ));
            }
        }
    }
    out.push_str("</body>\n</html>\n");
    out
}

const STYLE: &str = "<style>\n\
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}\n\
table{border-collapse:collapse;margin:1em 0;font-size:14px}\n\
th,td{border:1px solid #ccc;padding:4px 8px}\n\
th{background:#f3f3f3}\n\
td.num{text-align:right;font-variant-numeric:tabular-nums}\n\
code{background:#f3f3f3;padding:0 3px;border-radius:3px}\n\
figure{margin:1em 0}\n\
figure svg{max-width:100%;height:auto}\n\
figcaption{color:#555;font-size:14px}\n\
</style>\n";

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Escapes text and turns `code` spans into `<code>`.
fn inline(text: &str) -> String {
    text.split('`')
        .enumerate()
        .map(|(i, part)| if i % 2 == 1 { format!("<code>{}</code>", escape(part)) } else { escape(part) })
        .collect()
}

/// Drops an `<?xml …?>` line so the SVG can sit inside HTML.
fn strip_xml_prolog(svg: &str) -> &str {
    let trimmed = svg.trim_start();
    if trimmed.starts_with("<?xml") {
        trimmed.find("?>").map_or(trimmed, |end| trimmed[end + 2..].trim_start())
    } else {
        trimmed
    }
}
