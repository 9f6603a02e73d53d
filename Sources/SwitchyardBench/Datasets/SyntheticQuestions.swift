import SwitchyardCore

/// Questions shaped like VisionArena-Chat's first turns: an opening question about the image,
/// then detail sentences (context, what to look at, how to answer) until a drawn length is
/// reached. Lengths are 20–200 words, drawn from a Beta(1, 2)-shaped distribution (many short
/// questions, a long tail) with a mean near 80 words, which is about 90 tokens by
/// ``TokenEstimate`` (punctuation counts as tokens).
enum SyntheticQuestions {
    static let minimumWords = 20
    static let maximumWords = 200

    static func make(generator: inout SeededRandom) -> String {
        // min of two uniforms is Beta(1, 2): mean 1/3 of the span.
        let a = generator.nextUnit()
        let b = generator.nextUnit()
        let target = minimumWords + Int(Double(maximumWords - minimumWords) * min(a, b))

        var sentences = [pick(openers, &generator)]
        var words = wordCount(sentences[0])
        var unused = details  // each detail template at most once per question
        while words < target && !unused.isEmpty {
            let template = unused.remove(at: generator.uniformInt(in: 0...(unused.count - 1)))
            let sentence = fill(template, &generator)
            let length = wordCount(sentence)
            if words + length > maximumWords { continue }
            // Stop where the question is closest to the target length.
            if words >= minimumWords && words + length > target + length / 2 { break }
            sentences.append(sentence)
            words += length
        }
        while words < minimumWords {
            let sentence = pick(closers, &generator)
            sentences.append(sentence)
            words += wordCount(sentence)
        }
        return sentences.joined(separator: " ")
    }

    private static func wordCount(_ text: String) -> Int {
        text.split(separator: " ").count
    }

    private static func pick(_ list: [String], _ generator: inout SeededRandom) -> String {
        list[generator.uniformInt(in: 0...(list.count - 1))]
    }

    /// Replaces each `{slot}` with a word from that slot's list.
    private static func fill(_ template: String, _ generator: inout SeededRandom) -> String {
        var result = ""
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            result += rest[..<open]
            let slot = String(rest[rest.index(after: open)..<close])
            result += pick(slots[slot] ?? [slot], &generator)
            rest = rest[rest.index(after: close)...]
        }
        result += rest
        return result
    }

    static let openers = [
        "What is shown in this image?",
        "Describe the chart in detail, including the axes, the trend and any outliers.",
        "Can you explain what is happening in this picture?",
        "What does the text in this screenshot say?",
        "Identify the objects in this photo and explain how they relate to each other.",
        "Is there anything unusual about this image?",
        "Write a short story inspired by this image.",
        "Translate the text in the image into English.",
        "How many people are in this picture, and what are they doing?",
        "What kind of plant is this, and how should I take care of it?",
        "Solve the math problem shown in the image step by step.",
        "What is the error message in this screenshot and how do I fix it?",
        "Summarize the table in this image.",
        "Where might this photo have been taken?",
        "Convert this diagram into a list of steps.",
        "What is the total amount on this receipt?",
        "Describe this image as if you were explaining it to a child.",
        "What breed is the dog in this photo?",
        "Can you read the handwriting in this image?",
        "Which of the options in the picture is the correct answer?",
    ]

    static let details = [
        "The {object} in the {position} looks {adjective} to me.",
        "I took this photo {time} near the {place}.",
        "Please pay attention to the {object} and the {object}.",
        "I am trying to understand {topic} for my {context}.",
        "The image shows a {adjective} {object} next to a {object}.",
        "Explain your reasoning and mention anything you are not sure about.",
        "I need this for a {context}, so please be {style}.",
        "There is some text near the {position} that I cannot read.",
        "Compare the {object} with the {object} and point out the differences.",
        "If possible, give the answer as a list with short points.",
        "My friend thinks it is a {object}, but I think it is a {object}.",
        "Also tell me what {topic} has to do with it.",
        "I found this picture {time} while looking through old files from the {place}.",
        "The colors seem a bit {adjective}, so keep that in mind when you describe the {object}.",
        "Focus on the {position} first and then describe the rest of the image.",
        "Do not guess if you cannot see the {object} clearly, just say so.",
        "This is part of a {context} about {topic}, and I want to get the details right.",
        "Please include the numbers you can see, such as dates, prices or measurements.",
        "It would help to know whether the {object} is {adjective} or just looks that way.",
        "Keep the answer {style} and avoid repeating the question.",
    ]

    static let closers = [
        "Please answer in detail.",
        "Thank you for your help.",
        "Explain your answer briefly.",
    ]

    static let slots: [String: [String]] = [
        "object": [
            "car", "tree", "building", "dog", "sign", "chart", "table", "window", "bridge", "cup", "phone", "bike",
            "bottle", "map", "screen", "menu", "button", "graph", "label", "plant", "person", "boat", "cat", "book",
        ],
        "position": [
            "top left corner", "bottom right corner", "center", "background", "foreground", "left side", "right side",
            "upper half", "lower half",
        ],
        "adjective": [
            "old", "strange", "bright", "blurry", "small", "large", "red", "green", "blue", "dark", "new", "broken",
        ],
        "place": ["river", "station", "park", "market", "office", "school", "beach", "mountain", "museum", "airport"],
        "time": ["last week", "this morning", "yesterday", "a few days ago", "during my trip", "last summer"],
        "topic": ["the data", "the layout", "the design", "the trend", "the numbers", "the colors", "the history"],
        "context": ["class", "report", "presentation", "project", "homework assignment", "blog post", "meeting"],
        "style": ["brief", "detailed", "precise", "clear", "friendly"],
    ]
}
